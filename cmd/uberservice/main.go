// Command uberservice runs any subset of the uberservice modules in one process.
// Which modules, on which ports, against which database and peers is
// configuration; see `uberservice -h` and the README.
package main

import (
	"os"

	"github.com/uberservice/uberservice/gateway/portal"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/modules/console"
	"github.com/uberservice/uberservice/modules/im"
	"github.com/uberservice/uberservice/modules/orders"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/app"
)

// modules is every module this binary knows, one line each.
var modules = []app.Module{
	accounts.Module(),
	im.Module(),
	orders.Module(),
	warehouse.Module(),
	portal.Module(),
	console.Module(),
}

func main() { os.Exit(app.Main(os.Args[1:], modules...)) }
