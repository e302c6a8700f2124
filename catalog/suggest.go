package catalog

import "strings"

// closest returns the candidate nearest to s by edit distance, if one is near enough to be a
// plausible typo (at most half of the longer name's letters differ).
func closest(s string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), c)
		if strings.HasPrefix(c, strings.ToLower(s)) || strings.HasPrefix(strings.ToLower(s), c) {
			d = min(d, 1) // "next" -> "nextcloud"
		}
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(len([]rune(s)), len([]rune(best)))/2 {
		return "", false
	}
	return best, true
}

// levenshtein is the number of single-rune insertions, deletions and substitutions from a to b.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
