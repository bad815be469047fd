package main

import "context"

// wireImports registers the imports capability.
func (a *app) wireImports(ctx context.Context) error {
	return nil
}
