# calgate: one static binary (pure Go: SQLite and the embedded Redis need no C).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/calgate ./cmd/calgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/calgate /usr/local/bin/calgate
ENV CALGATE_DATA_DIR=/var/lib/calgate
VOLUME /var/lib/calgate
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/calgate"]
CMD ["serve"]
