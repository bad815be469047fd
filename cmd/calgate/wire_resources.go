package main

import (
	"context"

	"github.com/calgate/calgate/api"
)

// wireResources registers the availability capability: the resource
// catalogue, the double-booking settings and conflicts, and the
// availability questions. Conflict detection itself runs in the store, on
// every write.
func (a *app) wireResources(context.Context) error {
	a.server.Add(a.server.ResourceRoutes(a.store)...)
	a.server.Add(a.server.AvailabilityRoutes(a.store)...)
	a.server.AddSchemas(api.ResourceSchemas())
	return nil
}
