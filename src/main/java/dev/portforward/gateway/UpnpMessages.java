package dev.portforward.gateway;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * UPnP IGD messages as pure functions: the SSDP search, the device description, and SOAP
 * requests and answers of the WANIPConnection service. XML from a gateway is parsed with DTDs
 * and external entities off; nothing it says is trusted beyond the values read here.
 */
public final class UpnpMessages {

  public static final String SSDP_GROUP = "239.255.255.250";
  public static final int SSDP_PORT = 1900;
  /** Preferred first: IGD v2's service, then v1's, then the PPP flavour of v1. */
  static final List<String> SERVICE_TYPES = List.of(
      "urn:schemas-upnp-org:service:WANIPConnection:2",
      "urn:schemas-upnp-org:service:WANIPConnection:1",
      "urn:schemas-upnp-org:service:WANPPPConnection:1");
  /** An IGD v2 device answers a search for v1 as well (UPnP Device Architecture 1.1, 1.3.2). */
  static final String SEARCH_TARGET = "urn:schemas-upnp-org:device:InternetGatewayDevice:1";

  /** The WAN connection service of a gateway: where to send SOAP, and what it is called. */
  public record Service(String type, URI controlUrl) {}

  /** A SOAP answer: its output arguments, or the UPnP error code of a fault. */
  public record SoapAnswer(Map<String, String> arguments, Optional<Integer> errorCode) {}

  private UpnpMessages() {}

  /** An M-SEARCH for gateways, answered within {@code mxSeconds}. */
  public static byte[] search(int mxSeconds) {
    return ("M-SEARCH * HTTP/1.1\r\n"
        + "HOST: " + SSDP_GROUP + ":" + SSDP_PORT + "\r\n"
        + "MAN: \"ssdp:discover\"\r\n"
        + "MX: " + mxSeconds + "\r\n"
        + "ST: " + SEARCH_TARGET + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** The LOCATION of an SSDP search answer (HTTP/1.1 200), if it is one. */
  public static Optional<URI> location(byte[] packet, int length) {
    String text = new String(packet, 0, length, StandardCharsets.ISO_8859_1);
    if (!text.startsWith("HTTP/1.1 200")) {
      return Optional.empty();
    }
    for (String line : text.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("LOCATION")) {
        try {
          URI uri = URI.create(line.substring(colon + 1).trim());
          return "http".equals(uri.getScheme()) && uri.getHost() != null ? Optional.of(uri) : Optional.empty();
        } catch (IllegalArgumentException malformed) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  /** The WAN connection service in a device description fetched from {@code location}. */
  public static Optional<Service> service(byte[] description, URI location) {
    Document doc = parse(description);
    if (doc == null) {
      return Optional.empty();
    }
    URI base = text(doc.getDocumentElement(), "URLBase").map(URI::create).orElse(location);
    NodeList services = doc.getElementsByTagNameNS("*", "service");
    for (String wanted : SERVICE_TYPES) {
      for (int i = 0; i < services.getLength(); i++) {
        Element service = (Element) services.item(i);
        Optional<String> control = text(service, "controlURL");
        if (text(service, "serviceType").filter(wanted::equals).isPresent() && control.isPresent()) {
          try {
            return Optional.of(new Service(wanted, base.resolve(control.get())));
          } catch (IllegalArgumentException malformed) {
            return Optional.empty();
          }
        }
      }
    }
    return Optional.empty();
  }

  /** A SOAP request body for {@code action} with its arguments in order (values are escaped). */
  public static String soapRequest(String serviceType, String action, Map<String, String> arguments) {
    StringBuilder body = new StringBuilder()
        .append("<?xml version=\"1.0\"?>\r\n")
        .append("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"")
        .append(" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>")
        .append("<u:").append(action).append(" xmlns:u=\"").append(escape(serviceType)).append("\">");
    arguments.forEach((name, value) ->
        body.append('<').append(name).append('>').append(escape(value)).append("</").append(name).append('>'));
    return body.append("</u:").append(action).append("></s:Body></s:Envelope>\r\n").toString();
  }

  /** The arguments of {@code action}'s response, or the errorCode of a UPnP fault; empty when neither. */
  public static Optional<SoapAnswer> soapAnswer(byte[] body, String action) {
    Document doc = parse(body);
    if (doc == null) {
      return Optional.empty();
    }
    Optional<Integer> error = text(doc.getDocumentElement(), "errorCode").flatMap(UpnpMessages::integer);
    if (error.isPresent()) {
      return Optional.of(new SoapAnswer(Map.of(), error));
    }
    NodeList responses = doc.getElementsByTagNameNS("*", action + "Response");
    if (responses.getLength() == 0) {
      return Optional.empty();
    }
    Map<String, String> arguments = new LinkedHashMap<>();
    NodeList children = responses.item(0).getChildNodes();
    for (int i = 0; i < children.getLength(); i++) {
      Node child = children.item(i);
      if (child instanceof Element e) {
        arguments.put(e.getLocalName() == null ? e.getTagName() : e.getLocalName(), e.getTextContent().trim());
      }
    }
    return Optional.of(new SoapAnswer(arguments, Optional.empty()));
  }

  /** What a UPnP error code means, for the person reading status. */
  public static String describe(int code) {
    return switch (code) {
      case 402 -> "the gateway found the request's arguments invalid";
      case 501 -> "the gateway failed to carry out the request";
      case 606 -> "the gateway does not allow this mapping (UPnP Action not authorized: its rules forbid this"
          + " external port or this host)";
      case 714 -> "the gateway has no such mapping";
      case 715, 716 -> "the gateway does not allow wildcards in mappings";
      case 718 -> "the external port is already mapped to another host (UPnP ConflictInMappingEntry)";
      case 724 -> "the gateway only maps an external port to the same internal port";
      case 725 -> "the gateway only grants permanent mappings";
      case 726, 727 -> "the gateway requires a wildcard where a value was given";
      case 728 -> "the gateway's mapping table is full";
      case 729 -> "the gateway refused: a conflict with its own port use";
      default -> "the gateway refused with UPnP error " + code;
    };
  }

  private static Optional<Integer> integer(String text) {
    try {
      return Optional.of(Integer.parseInt(text));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> text(Element parent, String localName) {
    NodeList nodes = parent.getElementsByTagNameNS("*", localName);
    return nodes.getLength() == 0 ? Optional.empty() : Optional.of(nodes.item(0).getTextContent().trim());
  }

  private static Document parse(byte[] xml) {
    try {
      DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
      factory.setNamespaceAware(true);
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      factory.setXIncludeAware(false);
      factory.setExpandEntityReferences(false);
      return factory.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
    } catch (ParserConfigurationException | SAXException | IOException malformed) {
      return null;
    }
  }

  private static String escape(String value) {
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
