/* opsdeck's entry point: the command line for now; with no verb the
 * console will open here. */
#include <config.h>

#include <locale.h>

#include "core/cli.h"

int main(int argc, char **argv)
{
    /* Widths and the sanitizer's terminal check follow the user's locale. */
    setlocale(LC_ALL, "");
    return cli_main(argc, argv);
}
