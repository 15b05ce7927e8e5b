package feed

import "fmt"

// Reasons for which the guard holds a whole update. They are metric
// labels.
const (
	HoldChurn        = "churn"         // too many entries added and removed
	HoldRefusedShare = "refused-share" // too many records refused
)

// A hold says why an update was held back.
type hold struct {
	reason string // HoldChurn or HoldRefusedShare
	detail string // for logs and status, with the numbers
}

// judge returns why an update with report rep and key set next must be
// held, given the key set old of the last accepted copy (first is true
// when there is none), or the zero hold to accept it.
func judge(g Guard, first bool, old, next []uint64, rep *Report) hold {
	if share := rep.RefusedShare(); g.MaxRefusedShare > 0 && share > g.MaxRefusedShare {
		return hold{HoldRefusedShare, fmt.Sprintf("%.0f%% of records refused, above %.0f%%", share*100, g.MaxRefusedShare*100)}
	}
	if first || len(old) == 0 || max(len(old), len(next)) < g.MinEntries {
		return hold{}
	}
	added, removed := diff(old, next)
	churn := float64(added+removed) / float64(len(old)+len(next))
	if g.MaxChurn > 0 && churn > g.MaxChurn {
		return hold{HoldChurn, fmt.Sprintf("churn %.2f above %.2f: %d added, %d removed, %d before, %d after",
			churn, g.MaxChurn, added, removed, len(old), len(next))}
	}
	return hold{}
}

// diff counts the elements of next missing from old (added) and of old
// missing from next (removed). Both are sorted without repeats.
func diff(old, next []uint64) (added, removed int) {
	i, j := 0, 0
	for i < len(old) && j < len(next) {
		switch {
		case old[i] == next[j]:
			i++
			j++
		case old[i] < next[j]:
			removed++
			i++
		default:
			added++
			j++
		}
	}
	return added + len(next) - j, removed + len(old) - i
}
