// Package difftest is the differential harness of reconcile, repair,
// drift and lag: seeded random tables over a catalogue of types, random
// workloads, random sink behaviours applied by the test, and an oracle
// that computes the truth in Go from both tables' rows, independently of
// the product's own row encoding. Everything is in its tests; nothing
// here is linked into the binary.
//
// CDC_HARNESS_CASES sets the cases per test (default 12, for `make
// test`); CDC_HARNESS_SEED replays one case; CDC_HARNESS_SEED_BASE moves
// the seeds (the nightly run sets it to a new value each night). See
// docs/drift.md, "Differential harness".
package difftest
