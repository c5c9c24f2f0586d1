# The command-line surface: help, version, usage errors and exit codes.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

run --version
expect_rc 0 "--version"
assert_match '^opsdeck [0-9]+\.[0-9]+\.[0-9]+$' "$out" "--version prints the version"

run help
expect_rc 0 "help"
for verb in status migrate config "stores start" "stores stop" "stores env" help; do
    assert_match "^  $verb" "$out" "help lists '$verb'"
done
assert_match '^  5  permission denied' "$out" "help lists the exit codes"
assert_match '--read-only' "$out" "help lists global flags from the option table"

run status --help
expect_rc 0 "status --help"
assert_match '^usage: opsdeck status' "$out" "status --help shows its usage"
run help migrate
expect_rc 0 "help migrate"
assert_match 'Changes the store' "$out" "help says migrate writes"
assert_match -- '--status' "$out" "help migrate lists its flag"

run
expect_rc 2 "no verb and no terminal"
one_line "$err" "no-verb message"
assert_match "console needs a terminal" "$err" "no verb opens the console, which says it needs a terminal"
run frobnicate
expect_rc 2 "unknown verb"
assert_match "unknown verb 'frobnicate'" "$err" "unknown verb is named"
run stores
expect_rc 2 "verb group without subcommand"
run stores --help
expect_rc 0 "a group's --help"
assert_match '^  stores stop' "$out" "stores --help lists the group's verbs"
run status --bogus
expect_rc 2 "unknown flag"
assert_match "unknown flag --bogus for 'opsdeck status'" "$err" "unknown flag is named"
run status extra
expect_rc 2 "unexpected argument"
run --refresh
expect_rc 2 "flag without value"
assert_match -- '--refresh needs a value' "$err" "missing value is named"
run status --refresh soon
expect_rc 2 "bad flag value"
one_line "$err" "bad flag value message"
assert_match -- '--refresh' "$err" "bad flag value names the flag"

# Global flags work before and after the verb.
run --json status
expect_rc 0 "global flag before the verb"
assert_match '"backends"' "$out" "--json before the verb gives JSON"
run status --json
expect_rc 0 "global flag after the verb"
printf '%s' "$out" | python3 -c 'import json,sys; json.load(sys.stdin)' ||
    fail "status --json is not valid JSON"
ok "status --json is valid JSON"

finish
