package im

import "github.com/uberservice/uberservice/platform/fitness"

// effects are what im does about a deposit, for `uberservice compare`: the
// commission it pays and the email it writes the manager, each keyed by the
// deposit's transaction id, so that a shadow's and the live module's meet.
// The email names its transaction only in its body (see depositEmail).
var effects = []fitness.Effect{
	{
		Name:  "commission",
		Query: `SELECT transaction_id::text, amount::text || ' ' || currency FROM commissions WHERE created_at >= $1`,
	},
	{
		Name: "manager_email",
		Query: `SELECT substring(body FROM '\(transaction ([0-9a-f-]{36})\)'), recipient || E'\n' || subject || E'\n' || body
			FROM notifications WHERE created_at >= $1 AND body ~ '\(transaction [0-9a-f-]{36}\)'`,
	},
}
