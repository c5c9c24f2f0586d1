# Shell helpers for opsdeck's integration tests. tests/harness/run has
# started private PostgreSQL and Redis servers and exported:
#   OPSDECK           the opsdeck binary under test
#   OPSDECK_SRCDIR    the source tree
#   OPSDECK_POSTGRES  conninfo of the private server (superuser, db opsdeck)
#   OPSDECK_REDIS     unix:// URL of the private Redis
#   PGHOST PGPORT PGUSER PGDATABASE   the same for psql
#   REDIS_SOCK        the Redis socket path, for redis-cli -s
#   STORES_DIR        the stores' folder (pid files "PID STARTTIME": postgres.pid, redis.pid)
#   TEST_TMP          a scratch folder removed after the test; HOME is inside
# Each test is a POSIX sh script: it sources this file, runs checks, and
# ends with `finish`. A failed check prints why and exits 1.

set -u

_checks=0

fail()
{
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

ok()
{
    _checks=$((_checks + 1))
    printf 'ok %d - %s\n' "$_checks" "$*"
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq()
{
    [ "$1" = "$2" ] || fail "$3: expected [$1], got [$2]"
    ok "$3"
}

# assert_match EXTENDED-REGEX TEXT WHAT
assert_match()
{
    printf '%s' "$2" | grep -Eq -- "$1" || fail "$3: [$2] does not match /$1/"
    ok "$3"
}

# assert_no_match EXTENDED-REGEX TEXT WHAT
assert_no_match()
{
    if printf '%s' "$2" | grep -Eq -- "$1"; then
        fail "$3: [$2] matches /$1/"
    fi
    ok "$3"
}

# run ARGS...: runs opsdeck, keeping stdout in $out, stderr in $err and the
# exit code in $rc; never fails by itself.
run()
{
    _o="$TEST_TMP/.out" _e="$TEST_TMP/.err"
    rc=0
    "$OPSDECK" "$@" >"$_o" 2>"$_e" </dev/null || rc=$?
    out=$(cat "$_o")
    err=$(cat "$_e")
}

# expect_rc CODE WHAT: checks the exit code of the last run.
expect_rc()
{
    [ "$rc" = "$1" ] || fail "$2: expected exit $1, got $rc; stdout [$out] stderr [$err]"
    ok "$2 (exit $1)"
}

# one_line TEXT WHAT: TEXT is exactly one non-empty line.
one_line()
{
    [ -n "$1" ] || fail "$2: empty"
    [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ] || fail "$2: more than one line: [$1]"
    ok "$2 is one line"
}

# psql_q SQL: runs SQL as the superuser, unaligned, tuples only.
psql_q()
{
    psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"
}

# redis_q ARGS...: runs one Redis command on the private server.
redis_q()
{
    redis-cli -s "$REDIS_SOCK" "$@"
}

# pid_of NAME [DIR]: the pid of server NAME (postgres, redis) of the stores
# in DIR (default: the test's own).
pid_of()
{
    cut -d' ' -f1 "${2:-$STORES_DIR}/$1.pid"
}

# pg_freeze / pg_thaw: stop or continue the whole private PostgreSQL, the
# postmaster and every backend (each in a session of its own, so a signal
# to the postmaster's group would not reach them). A stopped postmaster
# alone still lets open sessions answer.
pg_freeze()
{
    _pm=$(cut -d' ' -f1 "$STORES_DIR/postgres.pid")
    kill -STOP "$_pm"
    pkill -STOP -P "$_pm" || true
}
pg_thaw()
{
    _pm=$(cut -d' ' -f1 "$STORES_DIR/postgres.pid")
    pkill -CONT -P "$_pm" || true
    kill -CONT "$_pm"
}

# wait_until SECONDS WHAT COMMAND: runs the shell COMMAND every 0.1 s
# until it succeeds; fails the test with WHAT after SECONDS.
wait_until()
{
    _deadline=$(($(date +%s) + $1))
    until eval "$3" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$_deadline" ] || fail "$2: not within $1 s"
        sleep 0.1
    done
    ok "$2"
}

# migrate: applies opsdeck's schema to the private server.
migrate()
{
    "$OPSDECK" migrate >/dev/null || fail "opsdeck migrate failed"
}

finish()
{
    [ "$_checks" -gt 0 ] || fail "no checks ran"
    printf '%d checks passed\n' "$_checks"
    exit 0
}

# --- the console in a terminal ----------------------------------------------
# The console runs in a private tmux server ($TEST_TMP/tmux.sock, a config
# of its own: no status line) in a window "c" of a pinned size. The pane
# runs a wrapper that records opsdeck's own pid ($TEST_TMP/console.pid)
# and, once it ends, what it wrote on stderr ($TEST_TMP/console.err), its
# exit code ("console exit N" on the screen, then $TEST_TMP/console.rc) and
# the terminal's echo/icanon modes ("tty: icanon echo"); then it echoes
# what is typed, so a test sees the terminal that opsdeck left behind.

# tmx ARGS...: tmux on the test's own server.
tmx()
{
    tmux -S "$TEST_TMP/tmux.sock" "$@"
}

# console_start COLSxROWS [VAR=VALUE...] [-- ARGS...]: starts opsdeck (no
# verb, or ARGS) with the themes of the source tree, TERM=xterm-256color
# unless a VAR=VALUE says otherwise, and waits until it draws something.
# Sets an EXIT trap that stops the tmux server; a test with a trap of its
# own calls console_stop in it.
console_start()
{
    _geom=$1
    shift
    cat >"$TEST_TMP/console.wrap" <<'WRAP'
sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$TEST_TMP/console.pid" "$OPSDECK" "$@" \
    2>"$TEST_TMP/console.err"
rc=$?
cat "$TEST_TMP/console.err"
echo "console exit $rc"
echo "tty: $(stty -a | tr ' ;' '\n\n' | grep -xE -- '-?(echo|icanon)' | tr '\n' ' ')"
echo "$rc" >"$TEST_TMP/console.rc"
exec cat
WRAP
    printf 'set -g status off\nset -g history-limit 0\n' >"$TEST_TMP/tmux.conf"
    # env VAR=VALUE... sh WRAPPER ARGS...
    _nv=0
    for _a in "$@"; do
        case $_a in
        [A-Za-z_]*=*) _nv=$((_nv + 1)) ;;
        *) break ;;
        esac
    done
    _total=$# _i=0
    for _a in "$@"; do
        _i=$((_i + 1))
        if [ "$_i" -eq $((_nv + 1)) ]; then
            set -- "$@" sh "$TEST_TMP/console.wrap"
            [ "$_a" = -- ] && continue
        fi
        set -- "$@" "$_a"
    done
    [ "$_total" -eq "$_nv" ] && set -- "$@" sh "$TEST_TMP/console.wrap"
    shift "$_total"
    rm -f "$TEST_TMP/console.pid" "$TEST_TMP/console.rc"
    trap console_stop EXIT
    tmux -S "$TEST_TMP/tmux.sock" -f "$TEST_TMP/tmux.conf" new-session -d -s c \
        -x "${_geom%x*}" -y "${_geom#*x}" \
        env TERM=xterm-256color OPSDECK_THEMES_DIR="$OPSDECK_SRCDIR/themes" "$@" \
        2>"$TEST_TMP/tmux.err" || fail "tmux could not start the console: $(cat "$TEST_TMP/tmux.err")"
    wait_screen '^ opsdeck |Terminal too small|console exit' 15 "the console draws"
}

# console_stop: ends the tmux server and with it the console (SIGHUP).
console_stop()
{
    tmx kill-server 2>/dev/null || true
    # the server exits after it answers; a new one must not meet it
    _i=0
    while tmx has-session 2>/dev/null && [ "$_i" -lt 50 ]; do
        _i=$((_i + 1))
        sleep 0.1
    done
    rm -f "$TEST_TMP/tmux.sock"
}

# console_pid: opsdeck's pid in the pane.
console_pid()
{
    cat "$TEST_TMP/console.pid"
}

# console_alive: opsdeck still runs (not a zombie, not exited).
console_alive()
{
    [ ! -f "$TEST_TMP/console.rc" ] || return 1
    _st=$(awk '{print $3}' "/proc/$(console_pid)/stat" 2>/dev/null) || return 1
    [ "$_st" != Z ]
}

# screen: the pane's text now. screen_e: with its attributes (SGR).
screen()
{
    tmx capture-pane -p -t c
}
screen_e()
{
    tmx capture-pane -p -e -t c
}

# keys KEY...: tmux send-keys to the console (keys -l TEXT: literal text).
keys()
{
    tmx send-keys -t c "$@"
}

# The cells' styles from `capture-pane -e`: "selected" prints the text of
# the lines whose second cell is drawn in the selected role (default theme:
# black on cyan; mono: reverse); "cell Y X" prints the style of one cell as
# "fg=N bg=N rev=0|1" (N: the SGR colour code, "-" for the default);
# "colours" lists every colour code any cell uses.
_console_style_py='
import re, sys
st = {"fg": "-", "bg": "-", "rev": 0}
def sgr(params):
    p = [int(x) if x else 0 for x in params.split(";")] if params else [0]
    i = 0
    while i < len(p):
        c = p[i]
        if c == 0: st.update(fg="-", bg="-", rev=0)
        elif c == 7: st["rev"] = 1
        elif c == 27: st["rev"] = 0
        elif 30 <= c <= 37 or 90 <= c <= 97: st["fg"] = str(c)
        elif c == 39: st["fg"] = "-"
        elif 40 <= c <= 47 or 100 <= c <= 107: st["bg"] = str(c)
        elif c == 49: st["bg"] = "-"
        elif c in (38, 48):
            n = 3 if p[i + 1] == 5 else 5
            st["fg" if c == 38 else "bg"] = ":".join(map(str, p[i:i + n])); i += n - 1
        i += 1
lines = []
for line in sys.stdin.read().split("\n"):
    cells = []
    for m in re.finditer(r"\x1b\[([0-9;]*)m|\x1b[()][0-9A-B]|([^\x1b])", line):
        if m.group(1) is not None:
            sgr(m.group(1))
        elif m.group(2) is not None:
            cells.append((m.group(2), dict(st)))
    lines.append(cells)
if sys.argv[1] == "colours":
    print(" ".join(sorted({v for cells in lines for _, st in cells for v in (st["fg"], st["bg"]) if v != "-"})))
elif sys.argv[1] == "selected":
    for cells in lines:
        if len(cells) > 1 and (cells[1][1]["rev"] or (cells[1][1]["fg"], cells[1][1]["bg"]) == ("30", "46")):
            print("".join(c for c, _ in cells))
else:
    y, x = int(sys.argv[2]), int(sys.argv[3])
    s = lines[y][x][1] if y < len(lines) and x < len(lines[y]) else {"fg": "?", "bg": "?", "rev": "?"}
    print("fg=%s bg=%s rev=%s" % (s["fg"], s["bg"], s["rev"]))
'
selected()
{
    screen_e | python3 -c "$_console_style_py" selected
}
cell_style()
{
    screen_e | python3 -c "$_console_style_py" cell "$1" "$2"
}
screen_colours()
{
    screen_e | python3 -c "$_console_style_py" colours
}

# _ms: milliseconds since the epoch.
_ms()
{
    date +%s%3N
}

# poll_screen REGEX [SECONDS]: polls the screen every 50 ms until a line
# matches the extended REGEX (default 10 s; SECONDS may be a fraction);
# returns 1 when none did in time or the console has exited. $waited: the
# milliseconds it took; $_scr: the last screen read.
poll_screen()
{
    _t0=$(_ms)
    _deadline=$((_t0 + $(awk "BEGIN{print int(${2:-10} * 1000)}")))
    while :; do
        _scr=$(screen 2>/dev/null)
        if printf '%s\n' "$_scr" | grep -Eq -- "$1"; then
            waited=$(($(_ms) - _t0))
            return 0
        fi
        if [ "$(_ms)" -ge "$_deadline" ] || [ -f "$TEST_TMP/console.rc" ]; then
            sleep 0.2
            _scr=$(screen 2>/dev/null)
            printf '%s\n' "$_scr" | grep -Eq -- "$1" && continue
            return 1
        fi
        sleep 0.05
    done
}

# wait_screen REGEX [SECONDS [WHAT]]: poll_screen, and a check: fails the
# test with the screen when REGEX does not show up in time.
wait_screen()
{
    if poll_screen "$1" "${2:-10}"; then
        ok "${3:-the screen shows /$1/} (${waited} ms)"
        return 0
    fi
    printf '%s\n--- screen ---\n%s\n--------------\n' "FAIL: ${3:-/$1/}: not on the screen within ${2:-10} s" "$_scr" >&2
    exit 1
}

# bug WHAT: records a failed check of a known bug without stopping the
# test, so the checks after it still run; check_bugs (before finish) then
# fails the test naming every one.
_bugs=""
bug()
{
    printf 'not ok - %s\n' "$1"
    _bugs="$_bugs; $1"
}
check_bugs()
{
    [ -z "$_bugs" ] || fail "${_bugs#; }"
}

# wait_screen_gone REGEX [SECONDS [WHAT]]: like wait_screen, until no line
# matches.
wait_screen_gone()
{
    _t0=$(_ms)
    _deadline=$((_t0 + $(awk "BEGIN{print int(${2:-10} * 1000)}")))
    while :; do
        _scr=$(screen 2>/dev/null)
        if ! printf '%s\n' "$_scr" | grep -Eq -- "$1"; then
            waited=$(($(_ms) - _t0))
            ok "${3:-/$1/ is gone} (${waited} ms)"
            return 0
        fi
        if [ "$(_ms)" -ge "$_deadline" ]; then
            printf '%s\n--- screen ---\n%s\n--------------\n' "FAIL: ${3:-/$1/}: still on the screen after ${2:-10} s" "$_scr" >&2
            exit 1
        fi
        sleep 0.05
    done
}

# screen_line N: line N (0-based) of the screen.
screen_line()
{
    screen | sed -n "$(($1 + 1))p"
}

# help_find REGEX: scrolls the open help (j) until a line matches; 1 if
# none does.
help_find()
{
    _i=0
    while ! screen | grep -Eq -- "$1"; do
        [ "$_i" -lt 60 ] || return 1
        keys j
        _i=$((_i + 1))
        sleep 0.03
    done
}

# redis_freeze / redis_thaw: stop or continue the private Redis.
redis_freeze()
{
    kill -STOP "$(pid_of redis)"
}
redis_thaw()
{
    kill -CONT "$(pid_of redis)"
}

# redis_stop: stops the private Redis (SIGTERM by its pid) and waits until
# it is gone; stores_start then starts it again (stores start starts what
# is missing). Redis keeps nothing on disk: it comes back empty.
redis_stop()
{
    _rp=$(pid_of redis)
    kill -TERM "$_rp" || fail "redis_stop: no redis at pid $_rp"
    _i=0
    while kill -0 "$_rp" 2>/dev/null; do
        _i=$((_i + 1))
        [ "$_i" -lt 100 ] || fail "redis_stop: redis (pid $_rp) did not stop"
        sleep 0.1
    done
}
stores_start()
{
    "$OPSDECK" stores start --dir "$STORES_DIR" >"$TEST_TMP/stores.restart" 2>&1 ||
        fail "stores start: $(cat "$TEST_TMP/stores.restart")"
}
