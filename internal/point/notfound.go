package point

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Point's reference documents no error bodies, so nothing in a 404's body
// can say that the user (or the token) it names does not exist: a wrong
// path prefix in the endpoint, or a proxy, answers 404 too, often in JSON.
// What tells them apart is where the 404 comes from. Point checks the
// credential of a request on one of its routes before it looks the user up,
// so the same request without credentials answers 401 there, while a path
// that is no route answers 404 again. A server (or a gateway) that demands
// credentials before it routes answers 401 to any path, though; there, the
// 404 is Point's own only when it differs from the server's answer to a path
// that is certainly no route. CONTRACT.md ("Point's own 404") says the same
// for readers of the contract.

// noRouteSegment ends a path under a user that no Point route has: Point's
// route segments are lowercase words joined by underscores, and never start
// with a tilde.
const noRouteSegment = "~no-such-route"

// routingOrder is what a Client learned of how its endpoint answers a
// request without credentials for a path that is no route.
type routingOrder struct {
	// lock is a semaphore rather than a mutex, so that a caller whose
	// context ends stops waiting for another caller's check.
	lock chan struct{}
	// known is set once a check got a usable answer; credentialsFirst is
	// that answer: true when the endpoint answered 401.
	known, credentialsFirst bool
}

func newRoutingOrder() *routingOrder { return &routingOrder{lock: make(chan struct{}, 1)} }

// confirmNotFound reports whether a 404 answer to cl, whose body is body,
// is Point's own: the thing the path names does not exist. Any failure
// during the checks means it is not; the checks never return their errors,
// which could only confuse the caller's.
func (c *Client) confirmNotFound(ctx context.Context, cl call, body []byte) bool {
	if !isJSONObject(body) {
		return false
	}
	routeCheck := cl
	routeCheck.operation = cl.operation + " (404 check: the same request without credentials)"
	routeCheck.withoutCredential = true
	routeCheck.check = true
	if _, err := c.do(ctx, routeCheck, nil); !IsUnauthorized(err) {
		return false
	}
	credentialsFirst, ok := c.checksCredentialsFirst(ctx, cl)
	if !ok {
		return false
	}
	if !credentialsFirst {
		return true
	}
	// The 401 above proves nothing: compare the 404 with the answer to a
	// path that is certainly no route, sent with the same credential.
	noRoute := cl
	noRoute.operation = cl.operation + " (404 check: a path that is no route)"
	noRoute.path = noRoutePath(cl.userID)
	noRoute.check = true
	// It is asked twice: what differs between the two answers (a request
	// id, a timestamp) differs between any two answers, and is left out of
	// the comparison.
	res, err := c.do(ctx, noRoute, nil)
	if !IsNotFound(err) {
		return false
	}
	again, err := c.do(ctx, noRoute, nil)
	if !IsNotFound(err) {
		return false
	}
	paths := slices.Concat(c.requestPaths(cl.path), c.requestPaths(noRoute.path))
	noRouteAnswer := normalizedJSON(res.body, paths, cl.userID)
	perRequest := differingFields(noRouteAnswer, normalizedJSON(again.body, paths, cl.userID))
	return !sameNotFound(normalizedJSON(body, paths, cl.userID), noRouteAnswer, perRequest)
}

// checksCredentialsFirst reports whether the endpoint answers 401 to a
// request without credentials for a path that is no route, asking once per
// Client; ok is false when no usable answer came, which is not remembered.
func (c *Client) checksCredentialsFirst(ctx context.Context, cl call) (credentialsFirst, ok bool) {
	order := c.routing
	select {
	case order.lock <- struct{}{}:
	case <-ctx.Done():
		return false, false
	}
	defer func() { <-order.lock }()
	if order.known {
		return order.credentialsFirst, true
	}
	probe := cl
	probe.operation = cl.operation + " (404 check: a path that is no route, without credentials)"
	probe.path = noRoutePath(cl.userID)
	probe.withoutCredential = true
	probe.check = true
	_, err := c.do(ctx, probe, nil)
	if isTransport(err) || transientStatus(statusOf(err)) {
		return false, false
	}
	order.known, order.credentialsFirst = true, IsUnauthorized(err)
	return order.credentialsFirst, true
}

func transientStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

func noRoutePath(userID string) string { return userPath(userID) + "/" + noRouteSegment }

// requestPaths returns the ways a body may quote the path of a request:
// with and without the endpoint's own path prefix, escaped and unescaped.
func (c *Client) requestPaths(path string) []string {
	prefix := ""
	if u, err := url.Parse(c.baseURL); err == nil {
		prefix = u.EscapedPath()
	}
	var paths []string
	for _, p := range []string{prefix + path, path} {
		paths = append(paths, p)
		if unescaped, err := url.PathUnescape(p); err == nil {
			paths = append(paths, unescaped)
		}
	}
	return paths
}

func isJSONObject(body []byte) bool {
	var object map[string]any
	return json.Unmarshal(body, &object) == nil && object != nil
}

// Placeholders for what differs between two requests' answers.
const (
	pathPlaceholder   = "{path}"
	userIDPlaceholder = "{userId}"
)

// normalizedJSON decodes body and replaces, in every string in it, the
// paths of the requests compared and the user id (escaped or not) with
// placeholders. It returns body itself when body is not JSON.
func normalizedJSON(body []byte, paths []string, userID string) any {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var value any
	if dec.Decode(&value) != nil || dec.More() {
		return string(body)
	}
	var pairs []string
	for _, p := range paths {
		pairs = append(pairs, p, pathPlaceholder)
	}
	pairs = append(pairs, escapeSegment(userID), userIDPlaceholder, userID, userIDPlaceholder)
	// Longest first, so that a path is replaced before the user id in it.
	type pair struct{ old, new string }
	var ordered []pair
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] != "" {
			ordered = append(ordered, pair{pairs[i], pairs[i+1]})
		}
	}
	slices.SortStableFunc(ordered, func(a, b pair) int { return len(b.old) - len(a.old) })
	var args []string
	for _, p := range ordered {
		args = append(args, p.old, p.new)
	}
	return replaceStrings(value, strings.NewReplacer(args...))
}

func replaceStrings(value any, r *strings.Replacer) any {
	switch v := value.(type) {
	case string:
		return r.Replace(v)
	case []any:
		for i := range v {
			v[i] = replaceStrings(v[i], r)
		}
	case map[string]any:
		for k := range v {
			v[k] = replaceStrings(v[k], r)
		}
	}
	return value
}

// sameNotFound reports whether two normalised answers hold the same fields
// with the same values, leaving out the fields in ignore.
func sameNotFound(a, b any, ignore map[string]bool) bool {
	fieldsA, fieldsB := flatten(a), flatten(b)
	for field, value := range fieldsA {
		if other, ok := fieldsB[field]; !ignore[field] && (!ok || !reflect.DeepEqual(value, other)) {
			return false
		}
	}
	for field := range fieldsB {
		if _, ok := fieldsA[field]; !ok && !ignore[field] {
			return false
		}
	}
	return true
}

// differingFields returns the fields that two normalised answers do not
// share with the same value.
func differingFields(a, b any) map[string]bool {
	fieldsA, fieldsB := flatten(a), flatten(b)
	differ := map[string]bool{}
	for field, value := range fieldsA {
		if other, ok := fieldsB[field]; !ok || !reflect.DeepEqual(value, other) {
			differ[field] = true
		}
	}
	for field := range fieldsB {
		if _, ok := fieldsA[field]; !ok {
			differ[field] = true
		}
	}
	return differ
}

// flatten maps each leaf of a decoded JSON value to its value, keyed by its
// JSON Pointer (RFC 6901); an empty object or array is a leaf.
func flatten(value any) map[string]any {
	fields := map[string]any{}
	var walk func(pointer string, v any)
	walk = func(pointer string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if len(v) == 0 {
				fields[pointer] = v
			}
			for key, child := range v {
				walk(pointer+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(key), child)
			}
		case []any:
			if len(v) == 0 {
				fields[pointer] = v
			}
			for i, child := range v {
				walk(pointer+"/"+strconv.Itoa(i), child)
			}
		default:
			fields[pointer] = v
		}
	}
	walk("", value)
	return fields
}
