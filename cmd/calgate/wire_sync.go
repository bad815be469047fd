package main

import "context"

// wireSync registers the sync capability.
func (a *app) wireSync(ctx context.Context) error {
	return nil
}
