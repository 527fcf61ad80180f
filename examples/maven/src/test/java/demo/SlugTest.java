package demo;

import static org.junit.Assert.assertEquals;

import java.io.File;
import java.io.IOException;
import org.junit.Assume;
import org.junit.Test;

public class SlugTest {
    @Test
    public void joinsWords() {
        assertEquals("hello-world", Slug.of("Hello World"));
    }

    @Test
    public void dropsSurroundingSpace() {
        assertEquals("spaced-out", Slug.of("  spaced   out "));
    }

    /** Fails on purpose: punctuation is kept. */
    @Test
    public void dropsPunctuation() {
        assertEquals("hello-world", Slug.of("Hello, World!"));
    }

    @Test
    public void windowsPaths() {
        Assume.assumeTrue("needs a Windows host", System.getProperty("os.name").startsWith("Windows"));
        assertEquals("c:\\temp", Slug.of("C:\\Temp"));
    }

    /** Fails on its first run and passes on Surefire's rerun: a flaky test. */
    @Test
    public void flaky() throws IOException {
        File marker = new File(System.getProperty("java.io.tmpdir"), "ponydemo-maven-flaky-marker");
        if (marker.exists()) {
            marker.delete();
            return;
        }
        marker.createNewFile();
        assertEquals("the first run fails", "the second run passes");
    }
}
