package dev.portforward.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * Argo CD's health of an object, computed by the project's health script
 * (docs/gitops/argocd/portforward-health.lua) under Debian's lua5.1: Argo CD runs health scripts in
 * gopher-lua, a Lua 5.1, with the object as the global {@code obj}, as here.
 */
public final class ArgoHealth {

  public static final Path SCRIPT = ControlPlane.projectRoot().resolve("docs/gitops/argocd/portforward-health.lua");

  /** What the script returned: Healthy, Progressing, Degraded (or Suspended, Missing) and why. */
  public record Health(String status, String message) {}

  private ArgoHealth() {}

  public static Health of(HasMetadata object) {
    String program = "obj = " + lua(Serialization.jsonMapper().valueToTree(object)) + "\n"
        + "local hs = dofile(" + quote(SCRIPT.toString()) + ")\n"
        + "io.write(hs.status, \"\\n\", hs.message or \"\")\n";
    try {
      Process lua = new ProcessBuilder("lua5.1", "-").redirectErrorStream(true).start();
      try (OutputStream in = lua.getOutputStream()) {
        in.write(program.getBytes(StandardCharsets.UTF_8));
      }
      String out = new String(lua.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (lua.waitFor() != 0) {
        throw new IllegalStateException("lua5.1 failed: " + out);
      }
      String[] lines = out.split("\n", 2);
      return new Health(lines[0], lines.length > 1 ? lines[1] : "");
    } catch (IOException e) {
      throw new IllegalStateException("lua5.1 (Debian package lua5.1) could not run: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The JSON value as a Lua table constructor, as Argo CD converts objects: arrays 1-based, nulls absent. */
  private static String lua(JsonNode node) {
    if (node.isObject()) {
      StringBuilder table = new StringBuilder("{");
      for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext();) {
        Map.Entry<String, JsonNode> field = fields.next();
        if (!field.getValue().isNull()) {
          table.append('[').append(quote(field.getKey())).append("]=").append(lua(field.getValue())).append(',');
        }
      }
      return table.append('}').toString();
    }
    if (node.isArray()) {
      StringBuilder table = new StringBuilder("{");
      node.forEach(item -> table.append(lua(item)).append(','));
      return table.append('}').toString();
    }
    if (node.isTextual()) {
      return quote(node.asText());
    }
    return node.isNull() ? "nil" : node.toString();
  }

  private static String quote(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\r", "\\r") + "\"";
  }
}
