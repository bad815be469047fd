# calgate: one static binary (pure Go: SQLite and the embedded Redis need no C).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git stays out of the build context, so Go cannot record the commit: pass
# the version and the commit as build arguments (`calgate version` prints
# them; left empty, it says devel and commit unknown).
ARG VERSION=""
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
    -o /out/calgate ./cmd/calgate
# The data directory, owned by the image's unprivileged user, so that a
# volume created from it is writable by calgate.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/calgate /usr/local/bin/calgate
COPY --from=build --chown=65532:65532 /out/data /var/lib/calgate
ENV CALGATE_DATA_DIR=/var/lib/calgate
VOLUME /var/lib/calgate
# 8080: the API (serve, api); 9090: a worker's /healthz, /readyz and /metrics.
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/calgate"]
CMD ["serve"]
