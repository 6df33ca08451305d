# A static, non-root image of auger: docker build -t auger .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/auger-dev/auger/app.Version=${VERSION}" -o /out/auger .

# Charts from git sources and gitops remotes on local paths use the git binary; the
# server clones over HTTPS in-process, so the distroless static base is enough.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/auger /usr/local/bin/auger
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/auger"]
