# Hostile store text in the console: escape sequences (CSI, OSC, DCS), C1
# controls, bidi controls and invalid UTF-8 in a DLQ event, an index entry,
# the DLQ stats and a saga. The raw byte stream the console writes to the
# terminal (tmux pipe-pane) never carries them; the screen shows them
# escaped; sensitive fields are masked in the detail.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
now=$(date +%s)
hostile='csi \u001b[31mRED osc \u001b]0;pwned\u0007 dcs \u001bP1$r\u001b\\ c1 \u009b31m bidi \u202eexe.txt iso \u2066x'
redis_q HSET dlq:evil-1 data "{\"event_id\": \"evil-1\", \"original_event\": {\"order_id\": \"o-1\", \"note\": \"n\\u001b]0;pwned\\u0007\", \"password\": \"hunter2\", \"card_number\": \"4111111111111111\"}, \"failure_reason\": \"validation_failed\", \"error_message\": \"$hostile\", \"retry_count\": 1, \"first_failure_time\": \"2026-11-23 17:52:16\", \"last_failure_time\": \"2026-11-23 17:52:16\", \"source_service\": \"svc\\u202e\", \"target_service\": \"ledger\", \"original_queue\": \"q\", \"stack_trace\": null, \"context\": {}}" \
    created_at 2026-11-23T17:52:16 status pending_review \
    resolution_note "$(printf 'raw\377\376 end \033]0;pwned\007')" >/dev/null
redis_q ZADD dlq:index "$now" evil-1 >/dev/null
# An event whose id is raw bytes.
rawid=$(printf 'id\377\376\033]0;pwned\007\342\200\256')
redis_q HSET "dlq:$rawid" data '{"failure_reason": "validation_failed", "error_message": "raw id event"}' \
    status pending_review >/dev/null
redis_q ZADD dlq:index $((now - 5)) "$rawid" >/dev/null
redis_q HSET dlq:stats total_failed_events 7 \
    "$(printf 'reason:r\033]0;pwned\007\342\200\256')" 5 reason:validation_failed 2 >/dev/null
psql_q "
SELECT wf.save_saga(jsonb_build_object(
    'execution_id', 'saga-evil', 'saga_id', E'refund\u202e\u2066', 'status', 'failed',
    'context', jsonb_build_object('order_id', 'o-9', 'password', 'hunter2',
                                  'card_number', '4111111111111111',
                                  'note', E'ctx \x1b]0;pwned\x07'),
    'started_at', now(), 'completed_at', NULL,
    'error', E'csi \x1b[31mRED osc \x1b]0;pwned\x07 dcs \x1bP1\$r\x1b\\\\ c1 \u009b31m bidi \u202eexe.txt iso \u2066x',
    'steps', jsonb_build_array(jsonb_build_object('step_id', 'charge', 'name', E'Charge \x1b[2J card',
        'status', 'failed', 'result', NULL, 'error', NULL, 'started_at', now(),
        'completed_at', NULL, 'retry_count', 1))))" >/dev/null || fail "the hostile saga"

raw=$TEST_TMP/raw.out
console_start 120x40
tmx pipe-pane -t c -o "cat >>'$raw'"
keys C-l    # redraw everything into the pipe
wait_screen 'top reasons: r\\x1b\]0;pwned\\x07\\u\{202e\} 5' 5 "the Overview shows a hostile reason escaped"

keys 4
wait_screen 'evil-1' 5 "the DLQ lists the hostile event"
wait_screen '^ .* id\\.*xff' 5 "and the raw index entry, escaped"
wait_screen '[│x] *error_message:' 5 "with its detail"
s=$(screen)
# fixed WHAT STRING...: each STRING is on the screen $s, as is.
fixed()
{
    _what=$1
    shift
    for _f in "$@"; do
        printf '%s\n' "$s" | grep -qF -- "$_f" || fail "$_what: [$_f] not on the screen: $s"
    done
    ok "$_what"
}
fixed "CSI, OSC and DCS shown as \\x1b escapes" 'csi \x1b[31mRED' 'osc \x1b]0;pwned\x07' '\x1bP1$r\x1b\\'
fixed "a C1 control shown as \\u{009b}" 'c1 \u{009b}31m'
fixed "bidi controls shown as \\u{202e} and \\u{2066}" '\u{202e}exe.txt' 'iso \u{2066}x'
fixed "a bidi control in the source escaped" 'source_service: svc\u{202e}'
assert_match '[│x] +password: \*\*\*\*' "$s" "the password in the event is masked"
assert_match '[│x] +card_number: \*\*\*\*' "$s" "and the card number"
assert_no_match 'hunter2|4111111111111111' "$s" "no sensitive value on the screen"
keys Enter G
wait_screen 'resolution_note:' 5 "the end of the detail"
printf '%s\n' "$(screen)" | grep -qE 'resolution_note: raw\\+xff\\+xfe end' ||
    fail "invalid UTF-8 shown escaped: $(screen)"
ok "invalid UTF-8 shown as \\xff \\xfe"
keys Escape

keys 2
wait_screen 'saga-evil' 5 "the Sagas list the hostile saga"
wait_screen 'refund\\u\{202e\}\\u\{2066\}' 5 "its saga id escaped in the list"
wait_screen '[│x] *error:' 5 "its detail"
keys Enter G
wait_screen 'note: ctx \\x1b\]0;pwned\\x07' 5 "its context escaped"
s=$(screen)
assert_match '^.*[│x] +password: \*\*\*\*' "$s" "the password in the context is masked"
assert_match '^.*[│x] +card_number: \*\*\*\*' "$s" "and the card number"
assert_no_match 'hunter2|4111111111111111' "$s" "no sensitive value on the screen"
keys g
wait_screen 'Charge \\x1b\[2J card' 5 "a step name escaped"
s=$(screen)
fixed "the saga's error escaped" 'csi \x1b[31mRED' 'osc \x1b]0;pwned\x07' '\x1bP1$r\x1b\\' 'c1 \u{009b}31m' '\u{202e}exe.txt'

keys Escape
keys 7 4 1 Tab
wait_screen '^ STARTED +STATUS' 5 "Tab from the Overview to the Sagas"

# The raw stream: none of the hostile bytes.
tmx pipe-pane -t c
[ -s "$raw" ] || fail "nothing was captured"
has()
{
    python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(0 if bytes.fromhex(sys.argv[2]) in d else 1)' "$raw" "$1"
}
has 1b5d303b70776e6564 && fail "OSC ESC]0;pwned reached the terminal"
ok "no OSC 0 (title) sequence in the output"
has 1b5d && fail "an OSC introducer reached the terminal"
ok "no OSC at all"
has 1b50 && fail "a DCS introducer (ESC P) reached the terminal"
ok "no DCS"
has 1b5b33316d524544 && fail "the store's CSI (ESC[31mRED) reached the terminal"
has 1b5b324a2063617264 && fail "the store's ESC[2J (in a step name) reached the terminal"
ok "no CSI from the store"
has c29b && fail "a C1 CSI (U+009B) reached the terminal"
ok "no C1 control"
has e280ae && fail "U+202E reached the terminal"
has e281a6 && fail "U+2066 reached the terminal"
ok "no bidi control"
has ff && fail "a 0xff byte reached the terminal"
has fe && fail "a 0xfe byte reached the terminal"
ok "no invalid UTF-8"
has 07 && fail "a BEL reached the terminal"
ok "no BEL"
python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$raw" ||
    fail "the output is not valid UTF-8"
ok "the whole output is valid UTF-8"
assert_no_match pwned "$(tmx display -p -t c '#{pane_title}')" "the pane's title was not set"

# The event whose id is not UTF-8 opens like any other.
keys 4 g j
wait_screen '[│x] *(event_id: id|error:)' 10 "the raw-id event's detail"
if screen | grep -q 'error_message: raw id event'; then
    ok "the event whose id is raw bytes opens"
else
    bug "the event whose id is raw bytes does not open: $(screen | grep -A2 'error:' | tr -s ' ' | tr '\n' ' ')"
fi

# A malformed event (fields missing) is shown with its raw data: that copy
# must be masked too.
redis_q HSET dlq:leak-1 data '{"event_id": "leak-1", "failure_reason": "validation_failed", "original_event": {"password": "hunter2", "card_number": "4111111111111111"}}' \
    status pending_review >/dev/null
redis_q ZADD dlq:index $((now + 5)) leak-1 >/dev/null
wait_screen '^ .* leak-1 ' 10 "the malformed event is listed"
keys g
wait_screen '[│x] *event_id: leak-1' 10 "the malformed event's detail"
wait_screen 'data_raw' 5 "its raw data is shown"
if screen | grep -Eq 'hunter2|4111111111111111'; then
    bug "a sensitive value is shown unmasked in the raw data of a malformed event: $(screen | grep -E 'hunter2|4111' | tr -s ' ' | tr '\n' ' ')"
else
    ok "no sensitive value in the raw data of a malformed event"
fi
check_bugs
finish
