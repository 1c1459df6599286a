package orders

import (
	"context"
	"fmt"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/metrics"
)

// sagaName is the saga label of the orders' one saga (an order's, its
// cancellation included) in the module's metrics.
const sagaName = "order"

// unfinishedSteps are the steps of a saga still running: each is a series
// of uberservice_saga_states, 0 when no saga is at it.
var unfinishedSteps = []string{stepReserving, stepDebiting, stepCompensating, stepCancelling}

// declareMetrics declares the module's metrics: the sagas at each
// unfinished step, read at every scrape, and the sagas the recovery
// resumed, which s counts.
func declareMetrics(env *app.Env, s *saga) error {
	recoveries, err := env.Counter("saga_recoveries_total",
		"Sagas the recovery resumed: left unfinished by a crash, a stop or a failed step.", "saga")
	if err != nil {
		return err
	}
	recoveries.Add(0, sagaName)
	s.recoveries = recoveries
	return env.Gauge("saga_states", "Sagas not done, by the step they are at.", []string{"saga", "state"}, s.states)
}

// states counts the unfinished sagas by step (the orders_unfinished index
// holds them all, so a scrape reads no finished order).
func (s *saga) states(ctx context.Context) ([]metrics.Sample, error) {
	var rows []struct {
		SagaStep string
		N        float64
	}
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT saga_step, count(*)::float8 AS n FROM orders
		WHERE saga_step <> ? GROUP BY saga_step`, stepDone).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("orders: count the sagas by step: %w", err)
	}
	n := map[string]float64{}
	for _, r := range rows {
		n[r.SagaStep] = r.N
	}
	out := make([]metrics.Sample, len(unfinishedSteps))
	for i, step := range unfinishedSteps {
		out[i] = metrics.Sample{Labels: []string{sagaName, step}, Value: n[step]}
	}
	return out, nil
}
