# odpsim - the only build entry point.
#   make            build/odpsim
#   make demo       run the demo scenario and draw its plot
#   make check      every Check suite, the scenario regression tests and
#                   the fast validation cases
#   make validate   every validation case (workloads/validation/*.ini)
#   make check SAN=1  the same under ASan + UBSan (objects in build/san)
#   make bench      the scaling table (README, Scale) and other benchmarks
#   make fuzz FUZZ_S=N  each libFuzzer target (tests/fuzz/) for N seconds
#   make install PREFIX=/usr/local
#   CC=clang make   builds with clang
ifeq ($(origin CC),default)
CC := gcc
endif
PREFIX ?= /usr/local
PYTHON ?= /usr/bin/python3

ifeq ($(SAN),1)
B := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1
else
B := build
SANFLAGS :=
OPT := -O2
endif

DEPS_OK := $(shell tools/deps.sh >&2 && echo yes)
ifneq ($(DEPS_OK),yes)
$(error missing build dependencies (see the message above))
endif

PKGS := glib-2.0 libelf sqlite3
# -gdwarf-4: Debian 12's valgrind (3.19) cannot read clang 14's DWARF 5
# ("Possibly corrupted debuginfo file"), and cli.sh runs compare under it
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -g -gdwarf-4 $(OPT) $(SANFLAGS) -I. -Ibuild/gen \
	$(shell pkg-config --cflags $(PKGS))
CFLAGS ?=
LIBS := $(shell pkg-config --libs $(PKGS)) -lm
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS := $(shell pkg-config --libs check)

LIB_SRC := $(filter-out sim/system/main.c,$(wildcard sim/*.c sim/system/*.c vmm/*.c nic/*.c workloads/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
BENCH_SRC := $(wildcard tools/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tools/%.c=$(B)/%)

.PHONY: all demo check bench install deps golden clean fuzz validate \
	translation-curve
all: $(B)/odpsim

deps:
	tools/deps.sh --plot

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -MMD -MP -c $< -o $@

# The source commit a campaign's rows record (sim/system/sweep.c): the
# header is rewritten only when `git describe` changes, so a commit
# rebuilds one object, and a tree that is not a git checkout says "".
# One header under build/ for every build of the objects (plain, SAN=1,
# the fuzzing build).
build/gen/odpsim_commit.h: FORCE
	@mkdir -p $(dir $@)
	@c=$$(git describe --always --dirty --abbrev=12 2>/dev/null || true); \
	printf '#define ODPSIM_COMMIT "%s"\n' "$$c" >$@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/sim/system/sweep.o build/fuzz/sim/system/sweep.o: build/gen/odpsim_commit.h
.PHONY: FORCE
FORCE:

$(B)/libodpsim.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/odpsim: $(B)/sim/system/main.o $(B)/libodpsim.a
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/test_%: $(B)/tests/test_%.o $(B)/libodpsim.a
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

$(B)/bench_%: $(B)/tools/bench_%.o $(B)/libodpsim.a
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -o $@ $^ $(LIBS)

check: $(B)/odpsim $(TEST_BIN)
	@set -e; pass=0; fail=0; \
	for t in $(TEST_BIN); do \
		if ODPSIM=$(B)/odpsim $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; \
	for t in tests/cli.sh tests/bad_input.sh tests/sweep.sh tests/sweep_slurm.sh tests/install.sh; do \
		if ODPSIM=$(B)/odpsim ELF_FIXTURE=$(B)/fixtures/elf_fixture MAKE="$(MAKE)" SAN="$(SAN)" $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; \
	if $(B)/odpsim validate --fast -j 2 >$(B)/validate.txt; then pass=$$((pass+1)); \
		echo "odpsim validate --fast: $$(tail -1 $(B)/validate.txt)"; \
	else fail=$$((fail+1)); cat $(B)/validate.txt; echo "FAILED: odpsim validate --fast"; fi; \
	echo "$$pass passed, $$fail failed"; test $$fail -eq 0

validate: $(B)/odpsim
	$(B)/odpsim validate

# The translation-miss curve (README: "The translation-miss curve"): two
# campaigns of workloads/translation.ini and their plot, about a minute
# on two cores; a docs job, not part of check.
TRANSLATION_OUT ?= translation-out
TRANSLATION_BUF := --grid workload.bw.buffer=1MiB..256MiB*2
translation-curve: $(B)/odpsim
	$(B)/odpsim sweep workloads/translation.ini $(TRANSLATION_BUF) \
		--grid link.ab.rate=100Gbps,200Gbps --grid vmm.huge_pages=false,true \
		--grid iommu.mode=off,translate \
		-o $(TRANSLATION_OUT)/grid -q
	$(B)/odpsim sweep workloads/translation.ini $(TRANSLATION_BUF) \
		--grid workload.bw.offsets=sequential,random \
		--grid nic.mtt_l1_entries=0,16384 -o $(TRANSLATION_OUT)/why -q
	$(PYTHON) tools/plot_translation.py $(TRANSLATION_OUT)/grid \
		$(TRANSLATION_OUT)/why -o $(TRANSLATION_OUT)/translation.png \
		--title "sequential slots, one MTT cache level (the defaults)" \
		--title "200 Gb/s, 4 KiB pages: access order, a second level"

# The scaling table of issue 16 (README, Scale): rows of QPs, hosts,
# sparse and dense translation state, idle and huge hosts, run lengths,
# tracing, the write_bw stream and the hold model, each with its target.
bench: $(BENCH_BIN) $(B)/odpsim
	$(B)/bench_scale
	$(B)/bench_system workloads/migrate_precopy.ini 60ms
	tools/bench_sweep.sh $(B)/odpsim

DEMO_OUT ?= demo-out
demo: $(B)/odpsim
	@tools/deps.sh --plot
	$(B)/odpsim compare workloads/demo.ini --policy pin,odp,suspend --out $(DEMO_OUT)
	$(PYTHON) tools/plot_compare.py $(DEMO_OUT)

golden: $(B)/tests/test_scenarios
	ODPSIM_GOLDEN_REGEN=1 $(B)/tests/test_scenarios

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the binary; the
# scenarios in PREFIX/share/odpsim/workloads, where `odpsim run NAME` finds
# them (looked up beside the binary, so any PREFIX and DESTDIR work); the
# plot tools in PREFIX/share/odpsim/tools with odpsim-plot-run,
# odpsim-plot-compare and odpsim-plot-sweep in PREFIX/bin, run by the
# first of $(PYTHON), /usr/bin/python3 and python3 that imports matplotlib
# (their #! line says which); README and the trace schema in DOCDIR; the
# man page.
DOCDIR ?= $(PREFIX)/share/doc/odpsim
PLOT_TOOLS := $(notdir $(wildcard tools/plot_*.py))
install: $(B)/odpsim
	@py=""; for p in $(PYTHON) /usr/bin/python3 python3; do \
		x=$$(command -v $$p 2>/dev/null) || continue; \
		if $$x -c 'import matplotlib' 2>/dev/null; then py=$$x; break; fi; \
	done; \
	if [ -z "$$py" ]; then py=$(PYTHON); \
		echo "make install: warning: no python3 with matplotlib (apt-get install python3-matplotlib); the plot tools are installed for $$py" >&2; \
	fi; \
	set -e; d="$(DESTDIR)$(PREFIX)"; \
	install -d "$$d/bin" "$$d/share/odpsim/workloads" "$$d/share/odpsim/tools" \
		"$$d/share/man/man1" "$(DESTDIR)$(DOCDIR)"; \
	install -m 755 $(B)/odpsim "$$d/bin/odpsim"; \
	install -m 644 workloads/*.ini "$$d/share/odpsim/workloads/"; \
	if [ -d workloads/validation ]; then \
		install -d "$$d/share/odpsim/workloads/validation"; \
		install -m 644 workloads/validation/*.ini "$$d/share/odpsim/workloads/validation/"; \
	fi; \
	install -m 644 tools/plotlib.py "$$d/share/odpsim/tools/plotlib.py"; \
	for t in $(PLOT_TOOLS); do \
		sed "1s|^#!.*|#!$$py|" tools/$$t >"$$d/share/odpsim/tools/$$t"; \
		chmod 755 "$$d/share/odpsim/tools/$$t"; \
		n=$$(echo $$t | sed 's/^plot_/odpsim-plot-/; s/\.py$$//'); \
		ln -sf ../share/odpsim/tools/$$t "$$d/bin/$$n"; \
	done; \
	install -m 644 README.md "$(DESTDIR)$(DOCDIR)/README.md"; \
	install -m 644 traces/README.md "$(DESTDIR)$(DOCDIR)/traces.md"; \
	install -m 644 man/odpsim.1 "$$d/share/man/man1/odpsim.1"; \
	echo "installed odpsim in $$d (plot tools run by $$py)"

# --- fuzzing (tests/fuzz/): clang's libFuzzer with ASan and UBSan ---
# The library is built again with coverage instrumentation into
# build/fuzz; each target runs FUZZ_S seconds from its seed corpus
# (tests/fuzz/corpus/T, read only) into a work corpus build/fuzz/corpus/T,
# with its dictionary; a finding stops it and leaves the input in
# build/fuzz/.  The last line of each run says how many inputs it tried.
FUZZ_CC ?= clang
FUZZ_S ?= 60
FUZZ_TARGETS := units scenario elf snapshot
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
	-I. -Ibuild/gen $(shell pkg-config --cflags $(PKGS)) $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/libodpsim.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h build/fuzz/libodpsim.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libodpsim.a $(LIBS)

fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus/$$t; \
		echo "fuzz $$t: $(FUZZ_S) s"; \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_S) -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-dict=tests/fuzz/$$t.dict -artifact_prefix=build/fuzz/$$t- \
			build/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
			>build/fuzz/$$t.log 2>&1 || { tail -40 build/fuzz/$$t.log; \
			echo "fuzz $$t: FINDING (input in build/fuzz/$$t-*)"; exit 1; }; \
		grep -h "^Done\|stat::number_of_executed_units\|stat::peak_rss_mb" build/fuzz/$$t.log \
			| sed "s/^/fuzz $$t: /"; \
	done

clean:
	rm -rf build demo-out

-include $(LIB_OBJ:.o=.d) $(B)/sim/system/main.d $(TEST_SRC:tests/%.c=$(B)/tests/%.d) \
	$(wildcard build/fuzz/*/*.d build/fuzz/*/*/*.d)

# --- vmm test fixture ---
# A tiny static ELF image (tests/fixtures/elf_fixture.c) that test_vmm
# loads; the test finds it beside its own directory (../fixtures) or in
# $VMM_ELF_FIXTURE.  Order-only, so it is not linked into the test.
$(B)/fixtures/elf_fixture: tests/fixtures/elf_fixture.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g0 -static -nostdlib -fno-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -o $@ $<
$(B)/tests/test_vmm: | $(B)/fixtures/elf_fixture
check: $(B)/fixtures/elf_fixture

# --- ELF images of shipped scenarios (workloads/images/*.c) ---
# Static programs without libc, loaded (never run) by the scenarios that
# name them: workloads/elf_image.ini has image = build/images/kvstore.
# Always under build/ (no sanitizer, any $(CC): the segments are the
# same), so a scenario names one path; `make` and `make check` build them.
IMAGE_SRC := $(wildcard workloads/images/*.c)
IMAGES := $(IMAGE_SRC:workloads/images/%.c=build/images/%)
build/images/%: workloads/images/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g0 -static -nostdlib -fno-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -Wl,--build-id=none -o $@ $<
all check: $(IMAGES)
