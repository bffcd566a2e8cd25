set encoding utf8
set datafile missing '?'
set terminal svg size 720,760 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'forecast_lorenz63_h0.3.svg.tmp'
set grid lc rgb '#dddddd'
set key top right horizontal noenhanced font ',11'
set multiplot layout 3,1 title "Forecasts against the truth from one test state, lorenz63 h = 0.3" noenhanced
set ylabel 'z1'
set yrange [-24.18:24.21]
unset xlabel
plot 'forecast_lorenz63_h0.3.dat' index 0 using 1:2 with lines lw 3 lc rgb '#000000' title 'truth', \
     'forecast_lorenz63_h0.3.dat' index 1 using 1:2 with lines lw 2 dt 1 lc 1 title 'rk4', \
     'forecast_lorenz63_h0.3.dat' index 2 using 1:2 with lines lw 2 dt 2 lc 2 title 'dopri8', \
     'forecast_lorenz63_h0.3.dat' index 3 using 1:2 with lines lw 2 dt 1 lc 3 title 'trk10'
unset key
set ylabel 'z2'
set yrange [-31.1:24.15]
unset xlabel
plot 'forecast_lorenz63_h0.3.dat' index 0 using 1:3 with lines lw 3 lc rgb '#000000' title 'truth', \
     'forecast_lorenz63_h0.3.dat' index 1 using 1:3 with lines lw 2 dt 1 lc 1 title 'rk4', \
     'forecast_lorenz63_h0.3.dat' index 2 using 1:3 with lines lw 2 dt 2 lc 2 title 'dopri8', \
     'forecast_lorenz63_h0.3.dat' index 3 using 1:3 with lines lw 2 dt 1 lc 3 title 'trk10'
set ylabel 'z3'
set yrange [-2.268:51.6]
set xlabel 'lead time'
plot 'forecast_lorenz63_h0.3.dat' index 0 using 1:4 with lines lw 3 lc rgb '#000000' title 'truth', \
     'forecast_lorenz63_h0.3.dat' index 1 using 1:4 with lines lw 2 dt 1 lc 1 title 'rk4', \
     'forecast_lorenz63_h0.3.dat' index 2 using 1:4 with lines lw 2 dt 2 lc 2 title 'dopri8', \
     'forecast_lorenz63_h0.3.dat' index 3 using 1:4 with lines lw 2 dt 1 lc 3 title 'trk10'
unset multiplot
