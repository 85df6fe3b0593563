# The worker image: a static Go binary and the job catalog on a minimal,
# non-root base. The entry point is in exec form, so the binary is PID 1 and
# receives SIGTERM from ECS directly.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/batchport/batchport/internal/cli.Version=${VERSION}" \
      -o /out/batchport ./cmd/batchport

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/batchport /usr/local/bin/batchport
COPY jobs /etc/batchport/jobs
ENV BATCHPORT_JOBS_DIR=/etc/batchport/jobs
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/batchport"]
CMD ["worker"]
