package main

import (
	"context"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/imports"
)

// wireImports registers imports: templates, and imports and exports
// through them.
func (a *app) wireImports(ctx context.Context) error {
	svc := imports.New(imports.Deps{
		Store:  a.store,
		Notify: a.dispatcher.Notify,
		Logger: a.logger,
	}, imports.Options{})
	a.imports = svc
	svc.Register(a.queue)
	a.server.Add(a.server.ImportRoutes(svc)...)
	a.server.AddSchemas(api.ImportSchemas())
	return nil
}
