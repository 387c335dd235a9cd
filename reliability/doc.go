// Package reliability is cdc-sentinel's fault-injection suite, run by
// `make reliability` (go test -tags reliability ./reliability/). It runs
// the real binary with Toxiproxy between it and every upstream — a Kafka
// Connect worker, PostgreSQL (source, target and the remediation store)
// and, when the shared pipeline is up, Kafka — and injects latency,
// hangs, connection resets, bandwidth limits and a proxy taken down and
// brought back. It also kills the process with SIGKILL at random points
// of the remediation path, drives webhook load with duplicates while
// reloading and scraping, and soaks the process, then writes the figures
// (docs/reliability.md is a copy of one run's).
//
// Everything listens on loopback and every phase is bounded in count and
// time. The remediation crash tests act on a stand-in Connect worker
// that logs every restart it is asked for, so actions are counted from
// the worker's side and the shared pipeline is never acted on.
package reliability
