package warehouse

import "github.com/uberservice/uberservice/platform/identity"

// Who may do what in the warehouse (DOMAIN.md, "Identity and access"): staff
// run the store, and a customer reads the products they may order.
//
// No person owns a product or a shipment, so no rule here asks whose a
// record is: a role admits a person to every product, or to every shipment.
// A manager and an operator read nothing here: a manager's business is the
// accounts they manage and an operator's the ops routes, never business
// data. Someone who shops as well holds the customer role beside theirs.
//
// A context made for no person is the system's own (an event handler, the
// orders saga resumed after a crash), and identity.Require lets it through.
var (
	// runsStore are the roles that add products, receive stock, and read
	// and dispatch shipments.
	runsStore = []identity.Role{identity.Staff}
	// readsCatalogue are the roles that read a product and its stock: a
	// customer sees what they may order, staff do support work.
	readsCatalogue = []identity.Role{identity.Customer, identity.Staff}
)
