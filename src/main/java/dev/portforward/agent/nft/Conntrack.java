package dev.portforward.agent.nft;

import dev.portforward.agent.NodeForward;
import dev.portforward.agent.nft.FlowCuts.Dnat;
import dev.portforward.api.v1alpha1.Protocol;
import dev.portforward.common.Cidr;
import java.io.StringReader;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * Cuts the established flows that the rules no longer allow (see {@link FlowCuts}, which
 * decides): one {@code conntrack -L -o xml} of the DNATed flows of the forwards that changed, and
 * one {@code conntrack -R -} whose few lines delete exactly the flows to cut. Once its entry is
 * gone, a flow's next packet is new to the kernel and meets the forward's current rules: a client
 * now outside sourceRanges is dropped, one whose backend went is sent to a current one.
 */
public final class Conntrack {

  private final Nft runner;

  public Conntrack(Nft runner) {
    this.runner = runner;
  }

  /** Cuts the flows that a forward of {@code before} DNATed and {@code after} no longer allows. */
  public void cut(List<Dnat> before, List<NodeForward> after) {
    if (before.isEmpty()) {
      return;
    }
    List<String> list = new ArrayList<>(List.of("conntrack", "-L", "-o", "xml"));
    list.addAll(FlowCuts.listFilter(before));
    List<Flow> cut = FlowCuts.cut(before, after, flows(runner.output(list.toArray(String[]::new))));
    if (!cut.isEmpty()) {
      runner.run(FlowCuts.deletions(cut, after), "conntrack", "-R", "-");
    }
  }

  /** The TCP and UDP flows of a {@code conntrack -L -o xml} listing; other protocols are left out. */
  static List<Flow> flows(String xml) {
    List<Flow> flows = new ArrayList<>();
    if (xml.isBlank()) {
      return flows;
    }
    XMLInputFactory factory = XMLInputFactory.newFactory();
    factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
    factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    try {
      XMLStreamReader in = factory.createXMLStreamReader(new StringReader(xml));
      Map<String, String> fields = new HashMap<>();
      String direction = "";
      while (in.hasNext()) {
        int event = in.next();
        if (event == XMLStreamReader.START_ELEMENT) {
          switch (in.getLocalName()) {
            case "flow" -> fields.clear();
            case "meta" -> direction = String.valueOf(in.getAttributeValue(null, "direction"));
            case "layer4" -> fields.put(direction + ".protocol", String.valueOf(in.getAttributeValue(null, "protoname")));
            case "src", "dst", "sport", "dport" -> fields.put(direction + "." + in.getLocalName(), in.getElementText().strip());
            default -> { }
          }
        } else if (event == XMLStreamReader.END_ELEMENT && in.getLocalName().equals("flow")) {
          flow(fields).ifPresent(flows::add);
        }
      }
      return flows;
    } catch (XMLStreamException e) {
      throw new Nft.NftException("conntrack -L -o xml: unreadable listing: " + e.getMessage());
    }
  }

  private static Optional<Flow> flow(Map<String, String> f) {
    String protocol = f.get("original.protocol");
    if (!"tcp".equals(protocol) && !"udp".equals(protocol)) {
      return Optional.empty();
    }
    return Optional.of(new Flow(Protocol.valueOf(protocol.toUpperCase(Locale.ROOT)),
        address(f.get("original.src")), Integer.parseInt(f.get("original.sport")),
        address(f.get("original.dst")), Integer.parseInt(f.get("original.dport")),
        address(f.get("reply.src")), Integer.parseInt(f.get("reply.sport"))));
  }

  private static InetAddress address(String text) {
    return Cidr.parseAddress(text);
  }
}
