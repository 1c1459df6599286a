package orders

import (
	"context"

	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/problem"
)

// opsCounts is what GET /ops/counts says of the orders module: the orders
// whose refund accounts refused, which wait for an operator to settle them
// (refund_failed), and the sagas that failed and wait for their next attempt
// (sagas_retrying), which a dependency outage or a bug leaves behind. Both
// are logged once or sparsely; the counts keep them in view.
func (s *service) opsCounts(ctx context.Context) (map[string]int64, error) {
	var c struct{ RefundFailed, Retrying int64 }
	if err := s.db.DB.WithContext(ctx).Raw(`SELECT
			count(*) FILTER (WHERE status = ?) AS refund_failed,
			count(*) FILTER (WHERE saga_step <> 'done' AND attempts > 0) AS retrying
		FROM orders WHERE status = ? OR (saga_step <> 'done' AND attempts > 0)`,
		gateway.StatusRefundFailed, gateway.StatusRefundFailed).Scan(&c).Error; err != nil {
		return nil, problem.Wrapf(err, "orders: count for the operators")
	}
	return map[string]int64{gateway.StatusRefundFailed: c.RefundFailed, "sagas_retrying": c.Retrying}, nil
}
