module github.com/calgate/calgate

go 1.26.8
