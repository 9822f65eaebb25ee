#!/usr/bin/env bash
# Fails when a source file includes a folder above its own: dependencies point down this list
# (docs/architecture.md). The one exception is the contract the stages work against: the
# pipeline's request context and runtime (and what those headers include).
set -euo pipefail
cd "$(dirname "$0")/../src"

LAYERS=(app admin control pipeline stages providers script proxy usage store observe http core)
# Headers of pipeline/ that stages/ may include.
CONTRACT="pipeline/request_context.hpp pipeline/runtime.hpp pipeline/local_reply.hpp"

rank() {
    local i
    for i in "${!LAYERS[@]}"; do [[ "${LAYERS[$i]}" == "$1" ]] && { echo "$i"; return; }; done
    echo -1
}

status=0
while IFS= read -r file; do
    folder=${file%%/*}
    own=$(rank "$folder")
    if [[ $own -lt 0 ]]; then
        echo "check-layers: $file is in a folder that is not a layer ($folder)"
        status=1
        continue
    fi
    while IFS= read -r included; do
        target=${included%%/*}
        theirs=$(rank "$target")
        [[ $theirs -lt 0 ]] && continue  # not one of ours
        if [[ $theirs -lt $own ]]; then
            if [[ $folder == stages && " $CONTRACT " == *" $included "* ]]; then continue; fi
            echo "check-layers: $file includes $included ($folder may not depend on $target)"
            status=1
        fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find . -name '*.hpp' -o -name '*.cpp' | sed 's#^\./##' | sort)

[[ $status -eq 0 ]] && echo "check-layers: every include points down ($(find . -name '*.[hc]pp' | wc -l) files)"
exit $status
