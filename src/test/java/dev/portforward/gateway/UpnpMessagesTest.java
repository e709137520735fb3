package dev.portforward.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class UpnpMessagesTest {

  @Test
  void theSearchAsksForGatewaysOnTheSsdpGroup() {
    assertThat(new String(UpnpMessages.search(2), StandardCharsets.US_ASCII)).isEqualTo(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\n"
            + "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n");
  }

  @Test
  void aSearchAnswerGivesItsLocation() {
    byte[] answer = ("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:"
        + "InternetGatewayDevice:1\r\nlocation: http://10.77.50.1:35527/rootDesc.xml\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);

    assertThat(UpnpMessages.location(answer, answer.length)).contains(URI.create("http://10.77.50.1:35527/rootDesc.xml"));
    byte[] notify = "NOTIFY * HTTP/1.1\r\nLOCATION: http://10.77.50.1/\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    assertThat(UpnpMessages.location(notify, notify.length)).isEmpty();
    byte[] https = "HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    assertThat(UpnpMessages.location(https, https.length)).isEmpty();
  }

  /** The nesting of an IGD v2 description (miniupnpd's): the service sits three devices deep. */
  @Test
  void theDescriptionNamesTheWanIpConnectionServiceAndItsControlUrl() {
    String description = """
        <?xml version="1.0"?>
        <root xmlns="urn:schemas-upnp-org:device-1-0"><device>
          <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>
          <serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
            <controlURL>/ctl/L3F</controlURL></service></serviceList>
          <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType>
            <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType>
              <serviceList>
                <service><serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1</serviceType>
                  <controlURL>/ctl/IP6FCtl</controlURL></service>
                <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>
                  <controlURL>/ctl/IPConn</controlURL></service>
              </serviceList></device></deviceList></device></deviceList>
        </device></root>
        """;

    assertThat(UpnpMessages.service(description.getBytes(StandardCharsets.UTF_8),
        URI.create("http://10.77.50.1:35527/rootDesc.xml")))
        .contains(new UpnpMessages.Service("urn:schemas-upnp-org:service:WANIPConnection:2",
            URI.create("http://10.77.50.1:35527/ctl/IPConn")));
  }

  @Test
  void aDescriptionWithADoctypeIsNotRead() {
    String hostile = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        + "<root><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
        + "<controlURL>&x;</controlURL></service></root>";

    assertThat(UpnpMessages.service(hostile.getBytes(StandardCharsets.UTF_8), URI.create("http://10.77.50.1/")))
        .isEmpty();
  }

  @Test
  void aSoapRequestNamesTheActionAndEscapesItsArguments() {
    Map<String, String> arguments = new LinkedHashMap<>();
    arguments.put("NewExternalPort", "18080");
    arguments.put("NewPortMappingDescription", "portforward shop/web<&>");

    assertThat(UpnpMessages.soapRequest("urn:schemas-upnp-org:service:WANIPConnection:2", "AddPortMapping", arguments))
        .isEqualTo("<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\""
            + " s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
            + "<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
            + "<NewExternalPort>18080</NewExternalPort>"
            + "<NewPortMappingDescription>portforward shop/web&lt;&amp;&gt;</NewPortMappingDescription>"
            + "</u:AddPortMapping></s:Body></s:Envelope>\r\n");
  }

  @Test
  void aSoapResponseGivesItsArgumentsAndAFaultItsErrorCode() {
    String ok = "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
        + "<u:GetExternalIPAddressResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
        + "<NewExternalIPAddress>11.77.77.77</NewExternalIPAddress></u:GetExternalIPAddressResponse>"
        + "</s:Body></s:Envelope>";
    String fault = "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
        + "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        + "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>725</errorCode>"
        + "<errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault>"
        + "</s:Body></s:Envelope>";

    assertThat(UpnpMessages.soapAnswer(ok.getBytes(StandardCharsets.UTF_8), "GetExternalIPAddress"))
        .contains(new UpnpMessages.SoapAnswer(Map.of("NewExternalIPAddress", "11.77.77.77"), Optional.empty()));
    assertThat(UpnpMessages.soapAnswer(fault.getBytes(StandardCharsets.UTF_8), "AddPortMapping"))
        .contains(new UpnpMessages.SoapAnswer(Map.of(), Optional.of(725)));
    assertThat(UpnpMessages.describe(718)).contains("already mapped to another host");
  }
}
