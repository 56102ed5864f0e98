// Package invariants holds the invariant campaign: a model-based test that
// drives the real Terraform CLI through random sequences of what users do
// (apply, plan, saved plans, imports, configuration changes, ...) and of
// what the world does in between (rotations and revocations outside
// Terraform, the clock, 503s, lost answers, interrupts, ...) against the
// sandbox, and checks after every step that nothing was lost, orphaned or
// wedged. CONTRIBUTING.md describes the invariants and how to run, reproduce
// and extend the campaign; the code is in this package's tests.
package invariants
