package main

import (
	"context"

	"github.com/calgate/calgate/compat/planningnow"
)

// wirePlanningNow mounts PlanningNow's order API (/api/order, /api/test)
// over the imports service and the store's records.
func (a *app) wirePlanningNow(ctx context.Context) error {
	a.server.Add(planningnow.New(a.server, a.imports, a.store).Routes()...)
	return nil
}
