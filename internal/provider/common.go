package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/areyoupoint/terraform-provider-point/internal/point"
)

// Code that the resources, the data source, the ephemeral resources and the
// action share: import by user id, reading the user a configuration names,
// revocation, operation timeouts and error details.

const defaultOperationTimeout = 5 * time.Minute

// revokeCurrentRefreshToken revokes whatever refresh token the user holds
// now. A user that Point says is gone, or whose token is already revoked or
// replaced in the meantime, needs nothing more.
func revokeCurrentRefreshToken(ctx context.Context, client *point.Client, userID string) error {
	user, err := client.GetUser(ctx, userID)
	if point.IsUserNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	token := user.CurrentRefreshToken()
	if token == "" {
		return nil
	}
	return revokeRefreshToken(ctx, client, userID, token)
}

// revokeRefreshToken revokes token, the user's refresh token, and treats
// a token that is no longer current as revoked.
func revokeRefreshToken(ctx context.Context, client *point.Client, userID, token string) error {
	_, err := revokeIfCurrent(ctx, client, userID, token)
	return err
}

// revokeIfCurrent revokes token, the user's refresh token, and reports
// whether it was still current: Point answers 401, or 404 (which the
// contract allows) for a token or a user it does not know. A 404 may also
// come from a proxy or a wrong path prefix, with the token still valid, so
// unless the client confirmed it as Point's own, the user is read again
// (when the API key is at hand) to see whether token is still the current
// one.
func revokeIfCurrent(ctx context.Context, client *point.Client, userID, token string) (revoked bool, err error) {
	err = client.RevokeRefreshToken(ctx, userID, token)
	switch {
	case err == nil:
		return true, nil
	case point.IsUnauthorized(err), point.IsTokenNotFound(err):
		return false, nil
	case !point.IsNotFound(err) || !client.HasAPIKey():
		return false, err
	}
	user, getErr := client.GetUser(ctx, userID)
	if point.IsUserNotFound(getErr) || (getErr == nil && user.CurrentRefreshToken() != token) {
		return false, nil
	}
	return false, err
}

// trackedRevocation is what revoking the token a resource tracks did.
type trackedRevocation int

const (
	// trackedRevoked: the tracked token is revoked now.
	trackedRevoked trackedRevocation = iota
	// trackedGone: the tracked token, if any, was already revoked and the
	// user holds no refresh token (or is gone).
	trackedGone
	// trackedReplaced: the tracked token was replaced outside Terraform,
	// and the user's newer token, which the resource never tracked, stays
	// valid.
	trackedReplaced
	// trackedStale: the tracked token was no longer current; whether the
	// user holds a newer one is unknown (no API key, or it could not be
	// read).
	trackedStale
)

// revokeTracked revokes the token a resource tracks for the user: token,
// when state holds it, or else the user's current token, read with the API
// key, if its SHA-256 is still fingerprint. A token already replaced or
// revoked needs nothing more: a newer one is not the resource's, but the
// outcome says whether the user holds one, which stays valid.
func revokeTracked(ctx context.Context, client *point.Client, userID, token, fingerprint string) (trackedRevocation, error) {
	if token != "" {
		revoked, err := revokeIfCurrent(ctx, client, userID, token)
		if err != nil || revoked {
			return trackedRevoked, err
		}
		if !client.HasAPIKey() {
			return trackedStale, nil
		}
		return currentTokenLeft(ctx, client, userID), nil
	}
	if !client.HasAPIKey() {
		return trackedRevoked, point.ErrNoAPIKey
	}
	user, err := client.GetUser(ctx, userID)
	if point.IsUserNotFound(err) {
		return trackedGone, nil
	}
	if err != nil {
		return trackedRevoked, fmt.Errorf("read the current refresh token to revoke it: %w", err)
	}
	current := user.CurrentRefreshToken()
	switch {
	case current == "":
		return trackedGone, nil
	case fingerprint == "" || tokenSHA256(current) != fingerprint:
		tflog.Info(ctx, "The tracked refresh token is no longer current; nothing to revoke")
		return trackedReplaced, nil
	}
	revoked, err := revokeIfCurrent(ctx, client, userID, current)
	if err != nil || revoked {
		return trackedRevoked, err
	}
	return trackedStale, nil
}

// currentTokenLeft reads, after the tracked token proved no longer current,
// whether the user holds another one.
func currentTokenLeft(ctx context.Context, client *point.Client, userID string) trackedRevocation {
	user, err := client.GetUser(ctx, userID)
	switch {
	case point.IsUserNotFound(err):
		return trackedGone
	case err != nil:
		return trackedStale
	case user.CurrentRefreshToken() == "":
		return trackedGone
	}
	return trackedReplaced
}

// warnTokenLeftValid warns, for the users whose tracked token revokeTracked
// found no longer current, that their newer token stays valid (or may):
// the resource revoked nothing for them. total is how many users the
// operation served.
func warnTokenLeftValid(outcome trackedRevocation, ids []string, total int, resourceType string, warn func(summary, detail string)) {
	if len(ids) == 0 {
		return
	}
	whose := fmt.Sprintf("Point user %s", quoteIDs(ids))
	if total > 1 {
		whose = fmt.Sprintf("%s (%s)", countOf(len(ids), total, "user"), quoteIDs(ids))
	}
	advice := "If no token should be valid, revoke it with the point_revoke_refresh_token action, or destroy a point_user with deletion_policy = \"REVOKE\"."
	switch outcome {
	case trackedReplaced:
		warn("Point Refresh Token Left Valid",
			fmt.Sprintf("The refresh token that %s tracked for %s had been replaced elsewhere, so the provider revoked nothing there: "+
				"the current refresh token, which %s never tracked, stays valid in Point. "+
				"A refresh before this run would have found the new token and revoked it; this run made none (-refresh=false), or the token changed after it. %s",
				resourceType, whose, resourceType, advice))
	case trackedStale:
		warn("Point Refresh Token May Be Left Valid",
			fmt.Sprintf("The refresh token that %s tracked for %s was no longer current: it was revoked or replaced elsewhere, so the provider revoked nothing there. "+
				"If a newer token was issued, it stays valid in Point; the provider could not read the user to tell (that needs the organisation API key). %s",
				resourceType, whose, advice))
	}
}

// userLookup words the errors of reading the user that user_id names, in
// the data source and the ephemeral resources.
type userLookup struct {
	// notFound is the detail of the error on user_id when Point has no
	// such user, saying what to do about it: a format string for the user
	// id.
	notFound string
	// errorTitle and action describe any other failure, as in "Error
	// Reading Point User" and "read Point user %q" (a format string for
	// the user id).
	errorTitle, action string
}

// getNamedUser reads the user that user_id names, or returns nil after
// adding the error that lookup words.
func getNamedUser(ctx context.Context, client *point.Client, userID string, lookup userLookup, diags *diag.Diagnostics) *point.User {
	user, err := client.GetUser(ctx, userID)
	if point.IsUserNotFound(err) {
		diags.AddAttributeError(path.Root("user_id"), "Point User Not Found", fmt.Sprintf(lookup.notFound, userID))
		return nil
	}
	if err != nil {
		diags.AddError(lookup.errorTitle, apiErrorDetail(fmt.Sprintf(lookup.action, userID), err))
		return nil
	}
	return user
}

// ignoreNoLongerCurrent treats an access token revocation answered 401, or
// a 404 confirmed as Point's own, as done: the token was already revoked
// or has expired, or its user is gone.
func ignoreNoLongerCurrent(err error) error {
	if point.IsUnauthorized(err) || point.IsTokenNotFound(err) {
		return nil
	}
	return err
}

// importByUserID sets id, user_id and the identity from the import ID or
// the import identity, which must name a valid user id, and reports whether
// it did.
func importByUserID(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) bool {
	userID, ok := importUserID(ctx, req, resp)
	if !ok {
		return false
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), userID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("user_id"), userID)...)
	setUserIdentity(ctx, resp.Identity, types.StringValue(userID), &resp.Diagnostics)
	// The Read that follows reports a missing user or token as an error
	// rather than removing the resource it was asked to import.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyImported, []byte(`true`))...)
	return !resp.Diagnostics.HasError()
}

// privateKeyImported marks a resource that ImportState has just created, for
// the Read that follows.
const privateKeyImported = "imported"

// takeImportMark reports whether the resource was just imported, and clears
// the mark so that later reads treat it as any other.
// private is the resource's private state in a Read response, which starts
// as a copy of the stored one.
func takeImportMark(ctx context.Context, private privateState, diags *diag.Diagnostics) bool {
	mark, getDiags := private.GetKey(ctx, privateKeyImported)
	diags.Append(getDiags...)
	if len(mark) == 0 {
		return false
	}
	diags.Append(private.SetKey(ctx, privateKeyImported, nil)...)
	return true
}

// privateState is the framework's private resource state, whose type is
// internal to it.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// apiErrorDetail explains a failed call: what happened, what to do, and
// the underlying (already masked) error.
func apiErrorDetail(action string, err error) string {
	var hint string
	var apiErr *point.Error
	var transportErr *point.TransportError
	var decodeErr *point.DecodeError
	switch {
	case point.IsUnauthorized(err), point.IsForbidden(err):
		hint = fmt.Sprintf("Point did not accept the credential. Check that api_key (or %s) is the organisation API key for this environment, and that environment or endpoint names the right Point environment.", point.EnvAPIKey)
	case point.IsRateLimited(err):
		errors.As(err, &apiErr)
		hint = fmt.Sprintf("Point is rate limiting requests, and %s. Retry later, lower -parallelism, or raise max_retries.", retriesRanOut(apiErr.Attempts))
	case point.IsNotFound(err) && !point.IsUserNotFound(err) && !point.IsTokenNotFound(err) && errors.As(err, &apiErr):
		hint = fmt.Sprintf("The 404 answer is not Point's own (the provider checks that the path is one of Point's routes, which answer 401 without credentials, and that the answer is not the one for a path that is no route), so it most likely came from something else at %s: a wrong path prefix in endpoint, or a proxy. "+
			"Check the provider's endpoint (or %s) and environment settings; nothing was removed from state.", apiErr.BaseURL, point.EnvEndpoint)
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 500:
		hint = "Point or a proxy in front of it failed. Retry later; nothing was changed in state."
		if apiErr.Attempts > 1 {
			hint = "Point or a proxy in front of it failed, and " + retriesRanOut(apiErr.Attempts) + ". Retry later, or raise max_retries; nothing was changed in state."
		}
	case errors.As(err, &transportErr):
		hint = "No answer came from Point. Check the network, the endpoint setting, and request_timeout."
		if transportErr.Attempts > 1 {
			hint += fmt.Sprintf(" The provider tried %d times, and the retries ran out (max_retries = %d).", transportErr.Attempts, transportErr.Attempts-1)
		}
	case errors.As(err, &decodeErr):
		hint = "Point's answer was not what its API reference describes. If this persists, please report it."
	}
	detail := fmt.Sprintf("Could not %s.", action)
	if hint != "" {
		detail += " " + hint
	}
	return detail + "\n\nError: " + err.Error()
}

// retriesRanOut says how many attempts a failed call made.
func retriesRanOut(attempts int) string {
	if attempts > 1 {
		return fmt.Sprintf("the retries ran out after %d attempts (max_retries = %d)", attempts, attempts-1)
	}
	return "max_retries = 0, so the request was not retried"
}

// withTimeout bounds ctx by the configured timeout of an operation, such
// as state.Timeouts.Read, or defaultOperationTimeout when none is set.
func withTimeout(ctx context.Context, configured func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	timeout, timeoutDiags := configured(ctx, defaultOperationTimeout)
	diags.Append(timeoutDiags...)
	return context.WithTimeout(ctx, timeout)
}

// modelSource is a plan, a state or a configuration.
type modelSource interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

// getInto reads source into model, adding any problem to diags, and
// reports whether diags holds no error.
func getInto(ctx context.Context, source modelSource, model any, diags *diag.Diagnostics) bool {
	diags.Append(source.Get(ctx, model)...)
	return !diags.HasError()
}
