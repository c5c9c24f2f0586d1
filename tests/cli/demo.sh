# opsdeck demo in a real terminal (tmux): private stores in a folder of its
# own, the schema, the simulator and the console on them; q, Ctrl-C and a
# SIGKILL of the demo all leave no process behind; a second demo attaches
# (the console on a terminal, the status elsewhere) and leaving it leaves
# the first running; --keep prints how to connect and --stop ends it.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

OPSDECK_THEMES_DIR=$OPSDECK_SRCDIR/themes
export OPSDECK_THEMES_DIR

dir=$TEST_TMP/demo
sock=$TEST_TMP/tmux.sock
tm() { tmux -S "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null; "$OPSDECK" demo --stop --dir "$dir" >/dev/null 2>&1' EXIT

# The demo's own processes, by the pids it recorded.
pids()
{
    for f in postgres redis watchdog sim demo; do
        [ -f "$dir/$f.pid" ] && cut -d' ' -f1 "$dir/$f.pid"
    done
}
alive()
{
    # a zombie is gone for good; it only waits for its reaper
    for p in $1; do
        st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
        [ "$st" = Z ] || return 0
    done
    return 1
}

tm new-session -d -s demo -x 120 -y 40 "'$OPSDECK' demo --dir '$dir' --rate 4; echo DEMO-EXIT \$?; sleep 300"
wait_until 60 "the demo opens the console on its stores" \
    "tm capture-pane -p -t demo | grep -Eq '^ +Sagas +running [0-9]+ ' && tm capture-pane -p -t demo | grep -q 'pg up  redis up'"
screen=$(tm capture-pane -p -t demo)
header=$(printf '%s\n' "$screen" | sed -n 1p)
assert_match '^ opsdeck · default · ' "$header" "the console's header"
if printf '%s' "$header" | grep -q '^ opsdeck · default · tester '; then
    ok "the header names the operator"
else
    bug "the demo console's header does not name the operator: [$(printf "%s" "$header" | tr -s " ")]"
fi
assert_match "^opsdeck demo in $dir \\(started here\\); q stops it *\$" "$(printf '%s\n' "$screen" | sed -n 40p)" \
    "the message line says where it runs and that q stops it"
assert_no_match 'schema not migrated|migrate' "$screen" "the schema is applied (no alert)"
wait_until 30 "the simulator moves things" "grep -q 'completed' '$dir/sim.log'"
ls "$dir/run" | grep -q 'redis.sock' || fail "redis listens on a unix socket in the demo folder"
assert_eq "" "$(grep -E '^(listen|port)' "$dir/opsdeck.conf" || true)" "no network settings written"
assert_match 'listen_addresses=' "$(tr '\0' ' ' </proc/$(cut -d' ' -f1 "$dir/postgres.pid")/cmdline)" \
    "postgres listens on no TCP address"
owner_pids=$(pids)
[ "$(echo "$owner_pids" | wc -w)" -eq 5 ] || fail "expected five recorded pids, got [$owner_pids]"

# A second demo on the same folder attaches and leaves it running.
"$OPSDECK" demo --dir "$dir" </dev/null >"$TEST_TMP/attach.out" 2>"$TEST_TMP/attach.err" &
attach=$!
wait_until 20 "the second demo shows the first" "grep -q '(attached)' '$TEST_TMP/attach.out'"
assert_match 'already running' "$(cat "$TEST_TMP/attach.err")" "it says a demo already runs"
kill -INT $attach
wait $attach || fail "the attached demo did not exit 0 on SIGINT"
alive "$owner_pids" || fail "leaving the attached demo stopped the first"
run status --postgres "$(sed -n 's/^postgres = //p' "$dir/opsdeck.conf")" \
    --redis "$(sed -n 's/^redis = //p' "$dir/opsdeck.conf")"
expect_rc 0 "the first demo's stores still answer"
assert_match 'schema wf v[0-9]+/[0-9]+' "$out" "the schema is applied"

# A second demo on a terminal attaches with a console of its own; q there
# leaves the first running.
tm new-window -d -t demo -n attach "'$OPSDECK' demo --dir '$dir'; echo ATTACH-EXIT \$?; sleep 300"
wait_until 30 "an attached demo opens the console" \
    "tm capture-pane -p -t demo:attach | grep -q '^opsdeck demo in $dir (attached); q leaves it running'"
wait_until 30 "on the same stores" "tm capture-pane -p -t demo:attach | grep -q 'pg up  redis up'"
tm send-keys -t demo:attach q
wait_until 10 "q leaves the attached console with status 0" \
    "tm capture-pane -p -t demo:attach | grep -q '^ATTACH-EXIT 0'"
alive "$owner_pids" || fail "leaving the attached console stopped the first demo"
ok "the first demo still runs"
tm kill-window -t demo:attach

# Ctrl-C stops everything it started.
tm send-keys -t demo C-c
wait_until 30 "Ctrl-C ends the demo" "tm capture-pane -p -t demo | grep -q 'DEMO-EXIT 0'"
assert_match 'demo stopped; its data stays' "$(tm capture-pane -p -t demo)" "it says so"
wait_until 15 "no process of the demo is left after Ctrl-C" "! alive '$owner_pids'"
assert_match 'engine stopped' "$(tail -n 1 "$dir/sim.log")" "the simulator stopped cleanly"

# SIGKILL of the demo: the watchdog stops the servers and the simulator
# gets its parent-death signal.
tm kill-server
sock=$TEST_TMP/tmux2.sock
tm new-session -d -s demo -x 120 -y 40 "'$OPSDECK' demo --dir '$dir'; sleep 300"
wait_until 60 "the demo starts again on its old data" "tm capture-pane -p -t demo | grep -Eq '^ +Sagas +running [0-9]+ '"
killed_pids=$(pids)
kill -KILL "$(cut -d' ' -f1 "$dir/demo.pid")"
wait_until 30 "no process of the demo is left after SIGKILL" "! alive '$killed_pids'"
tm kill-server

# A killed terminal (SIGHUP to the demo) stops it all too.
sock=$TEST_TMP/tmux3.sock
tm new-session -d -s demo -x 120 -y 40 "'$OPSDECK' demo --dir '$dir'"
wait_until 60 "the demo starts a third time" "tm capture-pane -p -t demo | grep -Eq '^ +Sagas +running [0-9]+ '"
hup_pids=$(pids)
tm kill-server
wait_until 30 "no process of the demo is left after its terminal is gone" "! alive '$hup_pids'"

# q in the demo's console ends the demo and everything it started.
sock=$TEST_TMP/tmux4.sock
tm new-session -d -s demo -x 80 -y 24 "'$OPSDECK' demo --dir '$dir'; echo DEMO-EXIT \$?; sleep 300"
wait_until 60 "the demo starts a fourth time" "tm capture-pane -p -t demo | grep -Eq '^ +Sagas +running [0-9]+ '"
q_pids=$(pids)
tm send-keys -t demo 4
wait_until 10 "its console answers keys" "tm capture-pane -p -t demo | grep -Eq '^ FAILED +REASON'"
tm send-keys -t demo q
wait_until 30 "q ends the demo with status 0" "tm capture-pane -p -t demo | grep -q 'DEMO-EXIT 0'"
assert_match 'demo stopped; its data stays' "$(tm capture-pane -p -t demo)" "it says so"
wait_until 15 "no process of the demo is left after q" "! alive '$q_pids'"
tm kill-server

# --keep leaves it running and says how to connect; --stop ends it.
run demo --dir "$dir" --keep
expect_rc 0 "demo --keep"
assert_match "export OPSDECK_CONFIG=$dir/opsdeck.conf" "$out" "it prints the config to use"
assert_match "opsdeck demo --stop --dir $dir" "$out" "and how to stop it"
kept_pids=$(pids)
out=$(OPSDECK_CONFIG=$dir/opsdeck.conf "$OPSDECK" status) || fail "status through the printed config: $out"
ok "the printed settings reach the stores"
wait_until 30 "the kept simulator runs" "grep -q 'engine started' '$dir/sim.log'"
run demo --dir "$dir" --keep
expect_rc 0 "a second --keep"
assert_match "export OPSDECK_CONFIG" "$out" "prints the settings of the running one"
run demo --stop --dir "$dir"
expect_rc 0 "demo --stop"
assert_match "demo in $dir stopped" "$out" "it says so"
wait_until 15 "no process of the kept demo is left" "! alive '$kept_pids'"
run demo --stop --dir "$dir"
expect_rc 0 "stopping twice"
assert_match "no demo running" "$out" "says there was nothing to stop"
check_bugs
finish
