# Convenience targets; the scripts are the source of truth.
.PHONY: run test build bench clean

run:            ## install deps, build, start mock upstream + gateway (config.example.yaml)
	bash scripts/run.sh

test:           ## install deps, build everything, run every test (what CI runs)
	bash scripts/test.sh

build:
	bash scripts/install-deps.sh
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build build

bench:          ## side-by-side benchmark: direct vs nginx vs llm-proxy
	bash bench/run.sh

clean:
	rm -rf build build-asan build-fuzz
