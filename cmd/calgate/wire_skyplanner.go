package main

import (
	"context"

	"github.com/calgate/calgate/compat/skyplanner"
)

// wireSkyplanner mounts Skyplanner's resources (/customers,
// /phaser-orders, /phaser-order-items, /phaser-jobs, /workstages) over the
// imports service and the store's records.
func (a *app) wireSkyplanner(ctx context.Context) error {
	a.server.Add(skyplanner.New(a.server, a.imports, a.store).Routes()...)
	return nil
}
