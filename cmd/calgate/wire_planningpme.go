package main

import (
	"context"

	"github.com/calgate/calgate/compat/planningpme"
)

// wirePlanningPME mounts PlanningPME's integration API
// (/{workspace}/api/integration/…) over the imports service.
func (a *app) wirePlanningPME(ctx context.Context) error {
	a.server.Add(planningpme.New(a.server, a.imports).Routes()...)
	a.server.AddSchemas(planningpme.Schemas())
	return nil
}
