# Configuration through the real binary: file with profiles, OPSDECK_*
# variables and flags with flag > env > file > default; `opsdeck config`
# shows where each value came from with passwords masked; a bad file is
# refused with file:line and exit 2.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

# The harness points opsdeck at its stores through the environment; these
# checks are about the file, so they start from a clean slate.
unset OPSDECK_POSTGRES OPSDECK_REDIS
cfgdir=$XDG_CONFIG_HOME/opsdeck
mkdir -p "$cfgdir"
cat >"$cfgdir/config" <<CFG
# opsdeck test configuration
refresh = 5s
dlq_prefix = {dlq}

[prod]
refresh = 10s
theme = light
redis = redis://ops:s3cret@127.0.0.1:6390/2
route.orders.events = stream:orders
CFG

value_of()
{
    printf '%s\n' "$out" | awk -v k="$1" '$1 == k { print $2 }'
}
from_of()
{
    printf '%s\n' "$out" | awk -v k="$1" '$1 == k { $1 = ""; $2 = ""; sub(/^ +/, ""); print }'
}

run config
expect_rc 0 "config with the default file"
assert_eq "5s" "$(value_of refresh)" "file value"
assert_match "^file .*/opsdeck/config:2$" "$(from_of refresh)" "file value's origin with its line"
assert_eq "{dlq}" "$(value_of dlq_prefix)" "hash-tag prefix kept"
assert_eq "default" "$(value_of theme)" "default value"
assert_eq "default" "$(from_of theme)" "default origin"
assert_eq "tester" "$(value_of operator)" "operator from USER"

run -p prod config
expect_rc 0 "config with profile prod"
assert_eq "10s" "$(value_of refresh)" "profile overrides [default]"
assert_eq "{dlq}" "$(value_of dlq_prefix)" "profile inherits [default]"
assert_match 'redis://ops:\*\*\*\*@127.0.0.1:6390/2' "$out" "password masked"
assert_no_match 's3cret' "$out" "password never printed"
assert_match '^route\.orders\.events +stream:orders' "$out" "per-queue route listed"

export OPSDECK_PROFILE=prod OPSDECK_REFRESH=20s
run config
assert_eq "20s" "$(value_of refresh)" "env beats file"
assert_eq "env OPSDECK_REFRESH" "$(from_of refresh)" "env origin"
assert_eq "light" "$(value_of theme)" "OPSDECK_PROFILE picks the profile"
run config --refresh 30s
assert_eq "30s" "$(value_of refresh)" "flag beats env"
assert_eq "flag --refresh" "$(from_of refresh)" "flag origin"
unset OPSDECK_PROFILE OPSDECK_REFRESH

SUDO_USER=alice USER=root "$OPSDECK" config >"$TEST_TMP/o" 2>&1
out=$(cat "$TEST_TMP/o")
assert_eq "alice" "$(value_of operator)" "operator from SUDO_USER"

run config --json
expect_rc 0 "config --json"
assert_eq "5s|default" "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["refresh"]["value"] + "|" + d["theme"]["from"])')" \
    "JSON config"

run -p nosuch config
expect_rc 2 "unknown profile"
assert_match "no profile 'nosuch'" "$err" "unknown profile named"

run --config "$TEST_TMP/missing.conf" config
expect_rc 2 "an explicit missing file"
one_line "$err" "missing-file message"

# Every kind of bad file: exit 2, "file:line: reason", nothing else runs.
bad()
{
    printf '%b' "$2" >"$TEST_TMP/bad.conf"
    run --config "$TEST_TMP/bad.conf" status
    expect_rc 2 "$1"
    one_line "$err" "$1 message"
    assert_match "^opsdeck: $TEST_TMP/bad.conf:$3: " "$err" "$1 names file and line"
    assert_eq "" "$out" "$1 prints nothing else"
}
bad "unknown key" 'refresh = 2s\nfrobnicate = 1\n' 2
bad "bad duration" '\n\nrefresh = soon\n' 3
bad "duration out of bounds" 'refresh = 1ms\n' 1
bad "bad boolean" 'read_only = maybe\n' 1
bad "bad route" 'route = carrier-pigeon\n' 1
bad "bad schema name" 'schema = Robert"); DROP\n' 1
bad "duplicate key" 'theme = a\ntheme = b\n' 2
bad "line without =" 'just some words\n' 1
bad "unterminated section" '[prod\n' 1
bad "unterminated quote" 'theme = "light\n' 1
bad "key not allowed in a file" 'json = true\n' 1

# Flags and variables with bad values: exit 2 and the name.
run --connect-timeout 0 status
expect_rc 2 "flag out of bounds"
assert_match -- '--connect-timeout' "$err" "flag named"
export OPSDECK_READ_ONLY=perhaps
run status
expect_rc 2 "bad variable"
assert_match 'OPSDECK_READ_ONLY' "$err" "variable named"
unset OPSDECK_READ_ONLY

# Secrets never on argv.
run --postgres "host=x password=hunter2" status
expect_rc 2 "password on the command line refused"
assert_no_match 'hunter2' "$err" "the refused password is not echoed"
run --redis "redis://:hunter2@127.0.0.1/0" status
expect_rc 2 "redis password on the command line refused"
assert_no_match 'hunter2' "$err" "the refused redis password is not echoed"

# help works even with a broken config file.
printf 'garbage\n' >"$cfgdir/config"
run help
expect_rc 0 "help ignores a broken config"

finish
