# The man page and docs/building.md are written by hand; this keeps them
# from drifting from the tables they describe: every verb of the command
# table, every flag of the option table and every exit code must appear.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

man=$OPSDECK_SRCDIR/man/opsdeck.1
building=$OPSDECK_SRCDIR/docs/building.md

run help
expect_rc 0 "help"
verbs=$(printf '%s\n' "$out" | sed -n '/^Verbs:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\( [a-z][a-z-]*\)\{0,1\}\) .*/\1/p' |
    sed 's/ \[.*//; s/ [A-Z].*//')
[ -n "$verbs" ] || fail "no verbs found in help"
printf '%s\n' "$verbs" | while IFS= read -r v; do
    # man pages escape dashes and set verbs in bold: compare without them
    sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man" | grep -q "^\.B $v\b\|^\.B $v " ||
        { echo "FAIL: verb '$v' is not in man/opsdeck.1" >&2; exit 1; }
done || exit 1
ok "every verb is in the man page"

flags=$(printf '%s\n' "$out" | sed -n 's/^  \(-., \)\{0,1\}\(--[a-z-]*\).*/\2/p' | grep -v -- '--help\|--version')
[ -n "$flags" ] || fail "no flags found in help"
for f in $flags; do
    sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man" | grep -q -- "$f" || fail "flag $f is not in man/opsdeck.1"
done
ok "every global flag is in the man page"

for key in $(printf '%s\n' "$flags" | sed 's/^--//; s/-/_/g'); do
    case $key in profile | config | json) continue ;; esac
    grep -q "^| $key " "$building" || grep -q "^| $key," "$building" ||
        fail "config key $key is not in the table of docs/building.md"
done
ok "every config key is in docs/building.md"

for code in 0 1 2 3 4 5; do
    grep -q "^\.B $code$" "$man" || fail "exit code $code is not in the man page"
done
ok "every exit code is in the man page"
finish
