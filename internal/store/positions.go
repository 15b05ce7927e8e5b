package store

import (
	"context"

	"github.com/proxywatch/proxywatch"
)

// A Write is one change in a [Batch]: exactly one of its fields is set.
type Write struct {
	Put    *proxywatch.Decision // store this decision, as PutDecision does
	Delete string               // remove the decision with this ID; a missing one is no error in a batch
	Alert  *proxywatch.Alert    // store this alert, as PutAlert does
}

// A Batch is what a log watcher commits at once: the decisions and alerts
// its detectors derived from log lines, and the positions of its sources
// after those lines. Committed in one transaction, a restart resumes each
// source on the line after its position and finds exactly the decisions
// and alerts of the lines before it: nothing counted twice, nothing lost.
type Batch struct {
	Writes []Write
	// Positions maps a source name to its position, opaque to the store
	// (the log watcher's encoding of a tail.Checkpoint). A source absent
	// from the map keeps its stored position.
	Positions map[string][]byte
}

// A PositionStore is a [DecisionStore] that also keeps log sources'
// positions and commits them together with decisions and alerts.
type PositionStore interface {
	DecisionStore

	// Commit applies b's writes in order and stores its positions, in one
	// transaction: all of it or, with an error, none of it. An invalid
	// decision or alert fails the whole batch with ErrInvalid. Each
	// decision write records its Change as PutDecision and DeleteDecision
	// do.
	Commit(ctx context.Context, b Batch) error

	// Positions returns every stored source position.
	Positions(ctx context.Context) (map[string][]byte, error)
}
