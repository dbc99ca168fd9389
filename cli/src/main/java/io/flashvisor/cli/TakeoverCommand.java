package io.flashvisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "takeover", mixinStandardHelpOptions = true,
        description = {"On a host that holds replicas of a volume whose owner died: win the volume's next epoch,",
            "write the newest replica of every block to the backing store, and release the volume clean.",
            "Refused while the old owner's session is alive."})
final class TakeoverCommand implements Callable<Integer> {

    @Option(names = "--control", paramLabel = "PATH", required = true, description = "This node's control socket.")
    Path control;

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Parameters(index = "1", paramLabel = "BACKING", description = "The volume's backing store (path or NBD URI), as its owner had it.")
    String backing;

    @Override
    public Integer call() throws Exception {
        JsonNode r = new ObjectMapper().readTree(ControlClient.call(control, "takeover " + volume + " " + backing));
        if (r.has("error")) {
            System.err.println("flashvisor: " + r.get("error").asText());
            return Main.EXIT_FAILURE;
        }
        System.out.printf(Locale.ROOT, "%s: taken over from %s at epoch %d, %d blocks destaged in %.3f s, released clean: %s%n",
                volume, r.get("previousOwner").asText(), r.get("epoch").asLong(), r.get("blocksDestaged").asLong(),
                r.get("seconds").asDouble(), r.get("released").asBoolean());
        return 0;
    }
}
