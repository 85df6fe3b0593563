# The worker image: a static Go binary and the job catalog on a minimal,
# non-root base. The entry point is in exec form, so the binary is PID 1 and
# receives SIGTERM from ECS directly.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .dockerignore leaves out .git, so the commit comes in as an argument:
# docker build --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) .
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/batchport/batchport/internal/cli.Version=${VERSION} -X github.com/batchport/batchport/internal/cli.Commit=${COMMIT}" \
      -o /out/batchport ./cmd/batchport

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/batchport /usr/local/bin/batchport
COPY jobs /etc/batchport/jobs
ENV BATCHPORT_JOBS_DIR=/etc/batchport/jobs
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/batchport"]
CMD ["worker"]
