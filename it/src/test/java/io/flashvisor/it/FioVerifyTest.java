package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** fio's nbd engine: 4 jobs (4 connections), queue depth 16, random writes of mixed sizes, each block verified with crc32c. */
@Timeout(240)
class FioVerifyTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;

    @Test
    void randomWritesVerifyOverFourConnections() throws Exception {
        Path img = kit.file("fio.img");
        Tools.sparseFile(img, 64 * MiB);
        FlashvisorProcess fv = kit.serve(img.toString(), "--socket", kit.file("fio.sock").toString());

        String[] job = {"--name=verify", "--rw=randwrite", "--bsrange=4k-64k", "--size=16M", "--numjobs=4", "--offset_increment=16M",
            "--iodepth=16", "--verify=crc32c", "--verify_fatal=1", "--group_reporting=0"};
        Path json = kit.file("fio.json");
        List<String> cmd = Fio.command(json, job);
        cmd.addAll(List.of("--ioengine=nbd", "--uri=" + fv.uri(), "--do_verify=1", "--runtime=120"));
        Tools.Result r = Tools.run(Duration.ofSeconds(180), cmd);
        JsonNode report = Fio.report(json);
        r.ok();
        assertThat(report.path("jobs").size()).isEqualTo(4);
        for (JsonNode j : report.path("jobs")) {
            assertThat(j.path("error").asInt()).as(Fio.summary(report)).isZero();
            assertThat(j.path("write").path("io_bytes").asLong()).as("bytes written\n" + Fio.summary(report)).isEqualTo(16 * MiB);
            assertThat(j.path("read").path("io_bytes").asLong()).as("bytes verified\n" + Fio.summary(report)).isEqualTo(16 * MiB);
        }

        // What the backing file holds passes the same verification, read directly (not through the server).
        assertThat(fv.stop(Duration.ofSeconds(40))).isZero();
        Path json2 = kit.file("fio-file.json");
        List<String> direct = Fio.command(json2, job);
        direct.addAll(List.of("--ioengine=psync", "--filename=" + img, "--verify_only"));
        Tools.run(Duration.ofSeconds(120), direct).ok();
        for (JsonNode j : Fio.report(json2).path("jobs")) {
            assertThat(j.path("error").asInt()).isZero();
            assertThat(j.path("read").path("io_bytes").asLong()).isEqualTo(16 * MiB);
        }
    }
}
