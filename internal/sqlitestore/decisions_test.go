package sqlitestore

import (
	"testing"

	"github.com/proxywatch/proxywatch/internal/store/storetest"
)

func TestDecisionConformance(t *testing.T) {
	storetest.RunDecisions(t, func(t *testing.T) storetest.DecisionBackend { return openTest(t) })
}

func TestPositionStore(t *testing.T) {
	storetest.RunPositions(t, func(t *testing.T) storetest.PositionBackend { return openTest(t) })
}
