package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The scale mode times apply, plan (with refresh) and destroy of N users,
// each with a refresh token, in three shapes against the sandbox:
//
//   - singular: point_user and point_refresh_token with for_each, each
//     token referring to its user, the natural configuration for many
//     users;
//   - bulk: one point_users and one point_refresh_tokens for all of them;
//   - floor: terraform_data in the singular shape, Terraform's own cost for
//     it with no provider at all.
//
// The singular shape and the floor take minutes at N=1,000, so they run
// -slow-rounds times (default once), and the bulk shape -rounds times;
// the table shows medians.

const (
	shapeSingular = "singular"
	shapeBulk     = "bulk"
	shapeFloor    = "floor"
)

var allShapes = []string{shapeSingular, shapeBulk, shapeFloor}

// maxConcurrency is the bulk resources' max_concurrency in the bench: their
// default.
const maxConcurrency = 10

// userIDs is an HCL expression for n ids unique to the shape, n and round:
// range() yields at most 1,024 values, hence the chunks.
func userIDs(shape string, n int) string {
	return fmt.Sprintf(`flatten([for c in range(%[2]d) : [for i in range(c * 1000, min(%[1]d, (c + 1) * 1000)) : format("bench-%[3]s-%[1]d-%%d-user-%%05d", var.round, i)]])`,
		n, (n+999)/1000, shape)
}

func scaleConfig(shape string, n int, endpoint, apiKey string) string {
	head := fmt.Sprintf(`# Point cannot delete users, so every round registers users of its own.
variable "round" {
  type = number
}

locals {
  user_ids = %s
}
`, userIDs(shape, n))
	provider := fmt.Sprintf(`
terraform {
  required_providers {
    point = { source = "areyoupoint/point" }
  }
}

provider "point" {
  endpoint = %q
  api_key  = %q
}
`, endpoint, apiKey)
	switch shape {
	case shapeSingular:
		return head + provider + forEachPair(
			"point_user", "user_id = each.key",
			"point_refresh_token", "user_id = point_user.user[each.key].user_id")
	case shapeBulk:
		return head + provider + fmt.Sprintf(`
resource "point_users" "all" {
  user_ids        = local.user_ids
  max_concurrency = %[1]d
}

resource "point_refresh_tokens" "all" {
  user_ids        = point_users.all.user_ids
  max_concurrency = %[1]d
}
`, maxConcurrency)
	default:
		return head + forEachPair(
			"terraform_data", "input = each.key",
			"terraform_data", "input = terraform_data.user[each.key].output")
	}
}

// forEachPair is the graph of the singular shape, and of the floor with
// terraform_data in place of the provider's resources: a resource "user"
// per id, and a resource "token" per user that depends on it.
func forEachPair(userType, userArgument, tokenType, tokenArgument string) string {
	return fmt.Sprintf(`
resource %q "user" {
  for_each = toset(local.user_ids)
  %s
}

resource %q "token" {
  for_each = toset(local.user_ids)
  %s
}
`, userType, userArgument, tokenType, tokenArgument)
}

func parseScale(scaleN, shapes string) ([]int, []string, error) {
	var ns []int
	for _, f := range strings.Split(scaleN, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("-scale-n: %q is not a positive number", f)
		}
		ns = append(ns, n)
	}
	var chosen []string
	for _, f := range strings.Split(shapes, ",") {
		shape := strings.TrimSpace(f)
		known := false
		for _, s := range allShapes {
			known = known || s == shape
		}
		if !known {
			return nil, nil, fmt.Errorf("-shapes: unknown shape %q; the shapes are %s", shape, strings.Join(allShapes, ", "))
		}
		chosen = append(chosen, shape)
	}
	return ns, chosen, nil
}

type scaleKey struct {
	n     int
	shape string
}

func runScale(scaleN, shapes string, rounds, slowRounds, parallelism int, terraform, providerPath, profileDir string) error {
	ns, chosen, err := parseScale(scaleN, shapes)
	if err != nil {
		return err
	}
	h, err := newHarness(terraform, providerPath, profileDir)
	if err != nil {
		return err
	}
	defer h.close()

	results := map[scaleKey]map[string][]measurement{}
	users := 0
	for _, n := range ns {
		for _, shape := range chosen {
			dir := filepath.Join(h.work, fmt.Sprintf("%s-%d", shape, n))
			if err := writeConfig(dir, scaleConfig(shape, n, h.endpoint, h.box.APIKey())); err != nil {
				return err
			}
			key := scaleKey{n, shape}
			results[key] = map[string][]measurement{}
			times := rounds
			if shape != shapeBulk {
				times = slowRounds
			}
			for round := 1; round <= times; round++ {
				for _, phase := range phases {
					m, err := h.measure(dir, []string{fmt.Sprintf("TF_VAR_round=%d", round)}, phase, parallelism)
					if err != nil {
						return fmt.Errorf("%s shape, %d users, round %d, %s: %w", shape, n, round, phase, err)
					}
					results[key][phase] = append(results[key][phase], m)
					fmt.Fprintf(os.Stderr, "N=%-5d %-8s round %d  %-7s %8.2fs  %5.1f MB  %6d requests  %4d connections\n",
						n, shape, round, phase, m.wall.Seconds(), float64(m.peakRSSKiB)/1024, m.requests, m.connections)
				}
				if shape != shapeFloor {
					users += n
				}
			}
		}
	}
	if got := len(h.box.UserIDs()); got != users {
		return fmt.Errorf("the sandbox holds %d users, expected %d", got, users)
	}
	printScale(ns, chosen, rounds, slowRounds, parallelism, results)
	return nil
}

func printScale(ns []int, shapes []string, rounds, slowRounds, parallelism int, results map[scaleKey]map[string][]measurement) {
	wall := func(m measurement) float64 { return m.wall.Seconds() }
	fmt.Printf("\nN users, each with a refresh token; medians of %d rounds (bulk) and %d (singular, floor); -parallelism=%d; bulk max_concurrency=%d\n\n",
		rounds, slowRounds, parallelism, maxConcurrency)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "N\tshape\tphase\twall (s)\tsingular ÷ shape\tprovider CPU (s)\tpeak RSS (MB)\tHTTP requests\tnew TCP connections\t")
	for _, n := range ns {
		for _, shape := range shapes {
			for _, phase := range phases {
				ms := results[scaleKey{n, shape}][phase]
				speedup := "-"
				if singular := results[scaleKey{n, shapeSingular}][phase]; len(singular) > 0 && shape != shapeSingular {
					speedup = fmt.Sprintf("%.1f×", median(singular, wall)/median(ms, wall))
				}
				rss, cpu, requests, connections := "-", "-", "-", "-"
				if shape != shapeFloor {
					cpu = fmt.Sprintf("%.2f", median(ms, func(m measurement) float64 { return m.cpu.Seconds() }))
					rss = fmt.Sprintf("%.1f", median(ms, func(m measurement) float64 { return float64(m.peakRSSKiB) / 1024 }))
					requests = fmt.Sprintf("%.0f", median(ms, func(m measurement) float64 { return float64(m.requests) }))
					connections = fmt.Sprintf("%.0f", median(ms, func(m measurement) float64 { return float64(m.connections) }))
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t\n", n, shape, phase, median(ms, wall), speedup, cpu, rss, requests, connections)
			}
		}
	}
	_ = w.Flush()

	if len(ns) < 2 {
		return
	}
	first, last := ns[0], ns[len(ns)-1]
	fmt.Printf("\nGrowth from N=%d to N=%d (%.1f× the users): wall time at N=%d ÷ wall time at N=%d\n\n", first, last, float64(last)/float64(first), last, first)
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "shape\tapply\tplan\tdestroy\t")
	for _, shape := range shapes {
		a, b := results[scaleKey{first, shape}], results[scaleKey{last, shape}]
		fmt.Fprintf(w, "%s", shape)
		for _, phase := range phases {
			fmt.Fprintf(w, "\t%.2f×", median(b[phase], wall)/median(a[phase], wall))
		}
		fmt.Fprintln(w, "\t")
	}
	_ = w.Flush()
}
