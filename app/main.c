/* opsdeck's entry point: the command line, which opens the console when no
 * verb is given. */
#include <config.h>

#include <locale.h>

#include "core/cli.h"
#include "tui/tui.h"

int main(int argc, char **argv)
{
    /* Widths and the sanitizer's terminal check follow the user's locale. */
    setlocale(LC_ALL, "");
    return cli_main(argc, argv, tui_run);
}
