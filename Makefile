# vipgress — the two Quick-start commands are `make lab` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
JAVA_HOME := $(shell scripts/find-jdk)
export JAVA_HOME
MVN := mvn -B -ntp -Dstyle.color=never
LAB := frr-test/lab

.PHONY: help deps jdk build unit test lab down bench-election bench-nat bench-failover bench-churn format sim

help:
	@echo "make lab   - bring the lab up and run the demo"
	@echo "make test  - every test (unit + lab *IT; the lab needs root)"

jdk:
	@test -n "$(JAVA_HOME)" || { scripts/find-jdk; exit 1; }
	@echo "using JDK $(JAVA_HOME)"

# Debian packages and the Kubernetes binaries; idempotent.
deps: jdk
	@scripts/install-deps

build: jdk
	$(MVN) -q install -DskipTests

format: jdk
	$(MVN) -q spotless:apply

unit: jdk
	$(MVN) verify -DskipITs

# Every test: unit tests, then the lab *ITs against one shared lab that is torn down at the end.
test: deps
	@set -e; rc=0; \
	if [ "$$(id -u)" = 0 ]; then $(LAB) down; $(LAB) up; fi; \
	$(MVN) verify || rc=$$?; \
	if [ "$$(id -u)" = 0 ]; then $(LAB) down || rc=$$?; fi; \
	exit $$rc

# Deterministic simulation of the ownership protocol (speaker/src/test/java/dev/vipgress/sim):
# SIM_SCHEDULES seeds (last line: the sim JSON); SEED=n replays one seed and prints its trace.
SIM_SCHEDULES ?= 10000
SIM_THREADS ?= 2
SIM_JAVA := $(JAVA_HOME)/bin/java -XX:+UnlockExperimentalVMOptions -XX:hashCode=2
sim: jdk
	@$(MVN) -q -pl speaker -am test-compile dependency:build-classpath \
	  -Dmdep.outputFile=target/sim.classpath -Dmdep.includeScope=test
	@$(SIM_JAVA) -cp speaker/target/test-classes:speaker/target/classes:$$(cat speaker/target/sim.classpath) \
	  -Dsim.schedules=$(SIM_SCHEDULES) -Dsim.threads=$(SIM_THREADS) $(if $(SEED),-Dsim.seed=$(SEED)) \
	  $(SIM_OPTS) dev.vipgress.sim.SimMain

lab: deps build
	$(LAB) up
	$(LAB) demo

down:
	$(LAB) down

bench-election: deps build
	frr-test/bench/election

bench-nat: deps build
	frr-test/bench/nat

bench-failover: deps build
	frr-test/bench/failover

bench-churn: deps build
	frr-test/bench/churn
