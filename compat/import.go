package compat

import (
	"context"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/imports"
)

// Simulate imports model through the template as a simulation and returns,
// when any item would fail, one validation error with every failed item's
// field errors and reasons, so that a document with a bad part is refused
// whole and nothing is written.
func Simulate(ctx context.Context, svc *imports.Service, ws *calgate.Workspace, template, actor string, model []byte) error {
	dry, err := svc.ImportJSON(ctx, ws, template, actor, model, imports.ImportOptions{Simulate: true})
	if err != nil {
		return err
	}
	if dry.Failed == 0 {
		return nil
	}
	ve := &calgate.ValidationError{}
	for _, it := range dry.Errors {
		ve.Errors = append(ve.Errors, it.Errors...)
		if it.Reason != "" {
			ve.Add(it.Ref, "%s", it.Reason)
		}
	}
	return ve
}
