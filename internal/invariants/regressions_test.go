package invariants

import "testing"

// Fixed sequences, replayed on every change (make test). Each defect the
// campaign finds is fixed, and the minimal sequence that showed it goes
// here, named after the defect. The first ones replay the kinds of defect
// that were found outside the suite before the campaign existed, each an
// operation, something the world did, then another operation.

// A proxy's 404 to every request must not empty state, in a refresh, an
// apply or a destroy.
func TestRegression_proxy404KeepsState(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doAddUser, User: "amber-01"},
		{Do: doApply},
		{Do: doPlan, Fault: fault404HTML},
		{Do: doApply, Fault: fault404JSON},
		{Do: doRefreshOnly, Fault: fault404JSON},
		{Do: doDestroy, Fault: fault404HTML},
		{Do: doPlan},
	}}, "plan -detailed-exitcode: exit 1; error: Error Reading Point User", "destroy -auto-approve: exit 1; error: Error Reading Point User")
}

// A proxy's 404 to the revocation of a refresh token leaves the token in
// state, in a destroy and in the removal of a user from point_refresh_tokens.
func TestRegression_proxy404OnRevocationKeepsToken(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doAddUser, User: "amber-01"},
		{Do: doApply},
		{Do: doDestroy, Fault: fault404Revocations},
		{Do: doApply},
		{Do: doShape, Arg: "bulk"},
		{Do: doApply},
		{Do: doRemoveUser, User: "amber-01"},
		{Do: doApply, Fault: fault404Revocations},
	}}, "step 3: terraform destroy -auto-approve: exit 1; error: Error Revoking Point Refresh Token",
		"step 8: terraform apply -auto-approve: exit 1")
}

// A create that Point carries out but answers after request_timeout puts
// the user in state rather than leaving it for the next apply to meet as
// "already exists".
func TestRegression_createAnsweredAfterTimeout(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doAddUser, User: "amber-01"},
		{Do: doApply, Fault: faultSlow, N: 1},
		{Do: doPlan},
	}}, "exit 0; warning: Point User Registered Without an Answer", "plan -detailed-exitcode: exit 0")
}

// deletion_policy = "PREVENT" stops the plan before anything is revoked,
// for a destroy and for a user removed from configuration.
func TestRegression_preventRevokesNothing(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doAddUser, User: "amber-01"},
		{Do: doAddUser, User: "birch-02"},
		{Do: doPolicy, Arg: "PREVENT"},
		{Do: doApply},
		{Do: doDestroy},
		{Do: doRemoveUser, User: "birch-02"},
		{Do: doApply},
	}}, "destroy -auto-approve: exit 1; error: Point User Deletion Prevented", "apply -auto-approve: exit 1; error: Point User Deletion Prevented")
}

// An access token opened in the apply that rotates the refresh token it
// comes from is issued from the new one, and revoked at the end.
func TestRegression_accessTokenDuringRotation(t *testing.T) {
	replay(t, sequence{Dialect: "verbose", Steps: []step{
		{Do: doAddUser, User: "amber-01"},
		{Do: doConsumer, Arg: "on"},
		{Do: doApply},
		{Do: doTrigger},
		{Do: doApply},
		{Do: doRotateElsewhere, User: "amber-01"},
		{Do: doApply},
	}}, "exit 0; warning: Point Refresh Token Rotated Elsewhere")
}

// A registration whose answer a gateway lost (503 after Point acted),
// retried and met with 409, adopts the user; in the gateway dialect the
// retry is answered 200 instead.
func TestRegression_adoptionAfter503And409(t *testing.T) {
	for dialect, expect := range map[string]string{
		"reference": "apply -auto-approve: exit 0; warning: Point User Registered Without an Answer",
		"gateway":   "apply -auto-approve: exit 0",
	} {
		t.Run(dialect, func(t *testing.T) {
			replay(t, sequence{Dialect: dialect, Steps: []step{
				{Do: doAddUser, User: "amber-01"},
				{Do: doApply, Fault: fault503Lost, N: 1},
				{Do: doPlan},
			}}, expect, "plan -detailed-exitcode: exit 0")
		})
	}
}

// One registration that fails leaves point_users in state, not tainted,
// and the next apply registers the user; in either shape of a first
// apply.
func TestRegression_bulkNotWedgedByOneFailedRegistration(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doShape, Arg: "bulk"},
		{Do: doAddUser, User: "amber-01"},
		{Do: doAddUser, User: "birch-02"},
		{Do: doApply, Fault: faultDrop, N: 1},
		{Do: doApply},
		{Do: doAddUser, User: "cedar-03"},
		{Do: doApply, Fault: fault502, N: 1},
		{Do: doApply},
	}}, "step 4: terraform apply -auto-approve: exit 0; warning: Point Users Registered Without an Answer",
		"step 7: terraform apply -auto-approve: exit 0; warning: Point Users Registered Without an Answer")
}

// A saved plan made before rotate_at and applied after it does what it
// showed; the next plan rotates.
func TestRegression_savedPlanAcrossRotateAt(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doAddUser, User: "amber-01"},
		{Do: doRotateAfter, Arg: "1h"},
		{Do: doApply},
		{Do: doPlanOut},
		{Do: doClock, Arg: "90m"},
		{Do: doApplySaved},
		{Do: doApply},
		{Do: doPlanOut, Arg: "no-refresh"},
		{Do: doClock, Arg: "90m"},
		{Do: doApplySaved},
	}}, "step 6: terraform apply saved.tfplan: exit 0", "step 10: terraform apply saved.tfplan: exit 0")
}

// Found by the campaign (seed 20261205, sequence 930): an apply
// interrupted while Point issued a refresh token for a new
// point_refresh_token failed with an error that said nothing of the token
// Point may have issued, which replaced the user's current one and which
// nothing tracked; with the user then removed from configuration
// (deletion_policy = "ABANDON") it stayed valid for good. The error now
// says so, and what to do; here answers dropped on every attempt stand for the interrupt.
func TestRegression_issueWithoutAnswerReported(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doAddUser, User: "cedar-03"},
		{Do: doApply, Fault: faultDrop, N: 10},
		{Do: doRemoveUser, User: "cedar-03"},
	}}, "step 2: terraform apply -auto-approve: exit 1; error: Error Issuing Point Refresh Token; warning: Point User Registered Without an Answer",
		"The request may have reached Point without its answer coming back",
		"settling: terraform apply -auto-approve: exit 0; warning: Point User Abandoned")
}

// Found by the campaign (seed 20261206, sequence 1275): the same for
// point_refresh_tokens, whose error after an interrupted issue said
// nothing of the tokens Point may have issued.
func TestRegression_bulkIssueWithoutAnswerReported(t *testing.T) {
	replay(t, sequence{Dialect: "reference", Steps: []step{
		{Do: doShape, Arg: "bulk"},
		{Do: doAddUser, User: "cedar-03"},
		{Do: doApply, Fault: faultDrop, N: 10},
		{Do: doShape, Arg: "singular"},
		{Do: doRemoveUser, User: "cedar-03"},
	}}, "error: Error Issuing Point Refresh Tokens",
		"The requests may have reached Point without their answers coming back")
}
