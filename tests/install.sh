#!/bin/bash
# tests/install.sh - `make install` as a user meets it: into a PREFIX, the
# installed binary runs an installed scenario by name from another
# directory; the plot tools are installed with a python that has
# matplotlib and run; the installed validation cases pass from anywhere;
# docs and the man page are there; into a DESTDIR the
# staged tree works the same.  Run by `make check` (MAKE and SAN set).
set -u
MAKE=${MAKE:-make}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "install.sh: FAIL: $*"; }

p="$tmp/prefix"
if (cd "$here" && $MAKE -s install PREFIX="$p" SAN="${SAN:-}") >"$tmp/out" 2>"$tmp/err"; then ok; else
	no "make install PREFIX: $(tail -3 "$tmp/err")"
fi
for f in bin/odpsim share/odpsim/workloads/demo.ini share/odpsim/tools/plotlib.py \
	share/odpsim/tools/plot_compare.py share/man/man1/odpsim.1 \
	share/doc/odpsim/README.md share/doc/odpsim/traces.md; do
	[ -s "$p/$f" ] && ok || no "$f not installed"
done
for t in odpsim-plot-run odpsim-plot-compare odpsim-plot-sweep; do
	[ -x "$p/bin/$t" ] && ok || no "$t not installed"
done
# an installed scenario by name, from a directory that has none
mkdir "$tmp/elsewhere"
if (cd "$tmp/elsewhere" && "$p/bin/odpsim" run demo --duration 1ms --json) \
	>"$tmp/out" 2>"$tmp/err"; then ok; else no "installed 'odpsim run demo': $(head -2 "$tmp/err")"; fi
grep -q "\"scenario\":\"$p/share/odpsim/workloads/demo.ini\"" "$tmp/out" && ok || no "run demo ran the installed demo.ini"
(cd "$tmp/elsewhere" && "$p/bin/odpsim" run nosuch) >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "nosuch: cannot read: No such file or directory (nor is there a scenario nosuch.ini in .*$p/share/odpsim/workloads" "$tmp/err" \
	&& ok || no "an unknown scenario name says where it looked: $(head -1 "$tmp/err")"
# the installed validation cases, found and passing from elsewhere
if (cd "$tmp/elsewhere" && "$p/bin/odpsim" validate -j 2) >"$tmp/out" 2>"$tmp/err"; then ok; else
	no "installed 'odpsim validate': $(head -2 "$tmp/err")"
fi
grep -q "^[0-9]* of [0-9]* figures pass" "$tmp/out" && ok || no "installed validate printed its table"
# the plot tools: their #! is a python with matplotlib, and they run
py=$(head -1 "$p/share/odpsim/tools/plot_run.py" | sed 's/^#!//')
if "$py" -c 'import matplotlib' 2>/dev/null; then
	ok
	(cd "$tmp/elsewhere" && "$p/bin/odpsim" run demo --duration 2ms -q --out o) 2>"$tmp/err" \
		&& ok || no "run --out: $(head -2 "$tmp/err")"
	if (cd "$tmp/elsewhere" && "$p/bin/odpsim-plot-run" o) >"$tmp/out" 2>"$tmp/err"; then ok; else
		no "odpsim-plot-run: $(tail -2 "$tmp/err")"
	fi
	[ -s "$tmp/elsewhere/o/run.png" ] && ok || no "odpsim-plot-run wrote no run.png"
else
	echo "install.sh: SKIP running the plot tools: no python3 with matplotlib ($py)"
fi
# a staged install (DESTDIR): the tree under it works as installed
s="$tmp/stage"
if (cd "$here" && $MAKE -s install DESTDIR="$s" PREFIX=/usr/local SAN="${SAN:-}") >"$tmp/out" 2>"$tmp/err"; then ok; else
	no "make install DESTDIR: $(tail -3 "$tmp/err")"
fi
[ -x "$s/usr/local/bin/odpsim" ] && [ -s "$s/usr/local/share/odpsim/workloads/write_bw.ini" ] \
	&& [ -L "$s/usr/local/bin/odpsim-plot-compare" ] && ok || no "DESTDIR tree"
(cd "$tmp/elsewhere" && "$s/usr/local/bin/odpsim" run write_bw --duration 100us -q) 2>"$tmp/err" \
	&& ok || no "staged 'odpsim run write_bw': $(head -2 "$tmp/err")"
echo "install.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
