// families.recorded: Java 17's JSSE as an application uses it, through
// HttpsURLConnection with the JDK's defaults, trusting the test's
// self-signed certificate (and any host name) so that the handshake
// completes. Usage: java Client.java URL  (prints the HTTP status)
import java.net.URL;
import java.security.cert.X509Certificate;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

public class Client {
    public static void main(String[] args) throws Exception {
        TrustManager[] all = {new X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {}
            public void checkServerTrusted(X509Certificate[] c, String a) {}
            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }};
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, all, null);
        HttpsURLConnection c = (HttpsURLConnection) new URL(args[0]).openConnection();
        c.setSSLSocketFactory(ctx.getSocketFactory());
        HostnameVerifier any = (h, s) -> true;
        c.setHostnameVerifier(any);
        c.setConnectTimeout(5000);
        c.setReadTimeout(5000);
        System.out.println(c.getResponseCode());
    }
}
