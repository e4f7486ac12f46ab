# mpi: scale-out over Open MPI (lib/base/dist.c; README "Running on a cluster").
#
# MPI=1 builds lib/base/dist.c against Open MPI (mpicc's flags) so that
# `mpirun -np N train|align run|prep ingest` runs N ranks; MPI=0 builds the
# one-rank no-op.  Default: 1 where `mpicc` is installed (`make deps`
# installs it), else 0.  Either way a binary started without mpirun is one
# rank and never loads the MPI runtime.  Switching rebuilds dist.o and
# relinks (the setting is kept in $(BUILD)/mpi.flag).
DEB_PKGS += openmpi-bin libopenmpi-dev

MPI ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)
ifeq ($(MPI),1)
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
ifeq ($(strip $(MPI_LIBS)),)
$(error MPI=1 needs Open MPI's mpicc (make deps installs openmpi-bin and libopenmpi-dev))
endif
$(BUILD)/lib/base/dist.o: CFLAGS += -DACCENT_MPI $(MPI_CFLAGS)
LDLIBS += $(MPI_LIBS)
endif

.PHONY: mpi-flag-check bench-mpi
$(BUILD)/mpi.flag: mpi-flag-check | $(BUILD)/lib
	@f="MPI=$(MPI) $(MPI_CFLAGS) $(MPI_LIBS)"; [ "$$(cat $@ 2>/dev/null)" = "$$f" ] || echo "$$f" > $@
$(BUILD)/lib/base/dist.o: $(BUILD)/mpi.flag

# The scale-out benchmark (not part of `make test`; see bench/bench_mpi.sh).
bench-mpi: all $(BINDIR)/bench_dist
	BINDIR=$(BINDIR) sh bench/bench_mpi.sh

# bench_dist: the reduction alone, for docs/SCALING.md
# (mpirun -np 2 $(BINDIR)/bench_dist).
