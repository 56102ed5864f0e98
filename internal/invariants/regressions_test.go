package invariants

// Each defect the campaign found is fixed, and the minimal sequence that
// showed it is replayed here on every change.
